package tokenizer_test

import (
	"fmt"

	"github.com/nib-editor/nib/model/tokenizer"
)

func Example() {
	tok, err := tokenizer.Load("../../../shared/fixtures/t5-tiny-gated")
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.Encode("translate English to German: The house is wonderful.")
	fmt.Println(ids)
	fmt.Println(tok.Decode(ids))

	// Sentinels written in the text are single ids; Decode drops them.
	ids = tok.Encode("The <extra_id_0> walks in <extra_id_1> park")
	fmt.Println(ids, tok.Sentinel(0), tok.Sentinel(1))
	fmt.Printf("%q\n", tok.Decode(ids))
	fmt.Println(tok.VocabSize(), tok.EOS(), tok.Pad(), tok.Unk())
	// Output:
	// [13959 1566 12 2968 10 37 629 19 1627 5 1]
	// translate English to German: The house is wonderful.
	// [37 32099 10681 16 32098 2447 1] 32099 32098
	// "The walks in park"
	// 32100 1 0 2
}
