package bench

// fixtures holds the read-only tiny checkpoints of ../shared, used in
// place.
const fixtures = "../../../../../shared/fixtures"
