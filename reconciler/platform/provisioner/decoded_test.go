package provisioner

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSplitArray(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `[]`},
		{in: ` [ ] `},
		{in: `null`},
		{in: `[{"ID":"a"}]`, want: []string{`{"ID":"a"}`}},
		{in: "[ {\"ID\":\"a\"} ,\n{\"ID\":\"b\",\"Env\":{\"X\":[1,2]}} ]", want: []string{`{"ID":"a"}`, `{"ID":"b","Env":{"X":[1,2]}}`}},
		{in: `[{"Name":"a,b]}{[","Q":"say \"hi\", \\"}, 3]`, want: []string{`{"Name":"a,b]}{[","Q":"say \"hi\", \\"}`, `3`}},
		{in: `{"ID":"a"}`, err: true},
		{in: `[{"ID":"a"}`, err: true},
		{in: `[{"ID":"a"]`, err: true},
		{in: `[{"ID":"a}]`, err: true},
		{in: `[1,,2]`, err: true},
		{in: `[1,]`, err: true},
	} {
		got, err := splitArray([]byte(c.in), nil)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v, want error %v", c.in, err, c.err)
			continue
		}
		if c.err {
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d elements %q, want %q", c.in, len(got), got, c.want)
			continue
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Errorf("%s: element %d is %s, want %s", c.in, i, got[i], c.want[i])
			}
		}
	}
}

// A document seen before is not decoded again; a changed one is; what two
// full lists did not return is dropped.
func TestDecodedInstallations(t *testing.T) {
	doc := func(id, state string) []byte {
		b, err := json.Marshal(Installation{ID: id, Name: id, State: state, OwnerID: "o", DNS: id + ".test",
			MattermostEnv: EnvVarMap{"ENVWICK_ENVIRONMENT": {Value: id}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var d decoded
	list := d.begin()
	a, err := d.get(doc("aaa", StateStable), list)
	if err != nil || a.ID != "aaa" || a.Phase != Classify(StateStable) || a.Env["ENVWICK_ENVIRONMENT"] != "aaa" || a.URL != "https://aaa.test" {
		t.Fatalf("decoded %+v, %v", a, err)
	}
	again, _ := d.get(doc("aaa", StateStable), list)
	if len(d.entries) != 1 || !sameMap(again.Env, a.Env) {
		t.Error("the same document was decoded again")
	}
	changed, _ := d.get(doc("aaa", StateUpdateRequested), list)
	if changed.State != StateUpdateRequested || len(d.entries) != 2 {
		t.Errorf("a changed document: %+v (%d entries)", changed, len(d.entries))
	}
	d.sweep(list)
	// Two more full lists return only the changed document.
	for range 2 {
		list = d.begin()
		d.get(doc("aaa", StateUpdateRequested), list)
		d.sweep(list)
	}
	if len(d.entries) != 1 {
		t.Errorf("%d entries after the old document was gone for two lists, want 1", len(d.entries))
	}
	if _, err := d.get([]byte(`{"ID": 3}`), list); err == nil || !strings.Contains(err.Error(), "ID") {
		t.Errorf("a bad document: %v", err)
	}
}

// sameMap reports whether two maps are one (shared, not copied).
func sameMap(a, b map[string]string) bool {
	a["probe"] = "x"
	defer delete(a, "probe")
	return b["probe"] == "x"
}
