package server

import (
	"encoding/json"
	"testing"
)

// TestStatsRecentIsAnArray: "recent" is an array before the first
// generation too, as PROTOCOL.md says, never null.
func TestStatsRecentIsAnArray(t *testing.T) {
	c := startTestServer(t, serverOptions{})
	c.initialize(`{}`)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"nib/stats"}`)
	var res map[string]json.RawMessage
	if err := json.Unmarshal(c.reply("1")["result"], &res); err != nil {
		t.Fatal(err)
	}
	if string(res["recent"]) != "[]" {
		t.Errorf(`"recent" is %s before any generation, want []`, res["recent"])
	}
}
