import type { BaseEditor } from 'slate';
import type { HistoryEditor } from 'slate-history';
import type { ReactEditor } from 'slate-react';
import type { NibEditor, NibGhostElement } from '../src/index';

export interface ParagraphElement {
  type: 'paragraph';
  children: (FormattedText | NibGhostElement)[];
}

export interface FormattedText {
  text: string;
  bold?: boolean;
  italic?: boolean;
}

declare module 'slate' {
  interface CustomTypes {
    Editor: BaseEditor & ReactEditor & HistoryEditor & NibEditor;
    Element: ParagraphElement | NibGhostElement;
    Text: FormattedText;
  }
}
