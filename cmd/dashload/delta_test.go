package main

import (
	"encoding/json"
	"os"
	"testing"
)

// The decoder rebuilds the server's delta vectors (stream/testdata), alone
// and in a batch.
func TestDeltaDecoder(t *testing.T) {
	raw, err := os.ReadFile("../../stream/testdata/delta-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct{ Name, Prev, Next, Delta string }
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		d := &deltaDecoder{texts: map[string][]byte{}}
		if got, err := d.expand(nil, []byte(v.Prev)); err != nil || string(got) != v.Prev {
			t.Fatalf("%s: frame: %v %s", v.Name, err, got)
		}
		got, err := d.expand(nil, []byte(v.Delta))
		if err != nil || string(got) != v.Next {
			t.Errorf("%s: %v\ngot  %s\nwant %s", v.Name, err, got, v.Next)
		}
		d = &deltaDecoder{texts: map[string][]byte{}}
		dash := `{"type":"dashboard","id":"x"}`
		if _, err := d.expand(nil, []byte(batchStart+v.Prev+","+dash+"]}")); err != nil {
			t.Fatal(err)
		}
		got, err = d.expand(nil, []byte(batchStart+dash+","+v.Delta+"]}"))
		if want := batchStart + dash + "," + v.Next + "]}"; err != nil || string(got) != want {
			t.Errorf("%s in a batch: %v\ngot  %s\nwant %s", v.Name, err, got, want)
		}
	}
	d := &deltaDecoder{texts: map[string][]byte{}}
	if _, err := d.expand(nil, []byte(vs[0].Delta)); err == nil {
		t.Error("a delta without its frame: no error")
	}
}
