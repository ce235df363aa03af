package server

// The read-only fixtures of ../shared, used in place.
const (
	// fixtures holds the tiny checkpoints.
	fixtures = "../../shared/fixtures"
	// fixtureModel is a complete model folder with the real T5 tokenizer.
	fixtureModel = fixtures + "/t5-tiny-gated"
)
