package detect

import (
	"strings"
	"testing"
)

func TestConditionParseShape(t *testing.T) {
	// String writes the tree with only the parentheses it needs, so it
	// shows how the parser grouped the input.
	cases := []struct{ in, want string }{
		{"a", "a"},
		{"a or b and c", "a or b and c"},         // and binds tighter: a or (b and c)
		{"(a or b) and c", "(a or b) and c"},     // parentheses kept where needed
		{"a and b or c", "a and b or c"},         // (a and b) or c
		{"not a and b", "not a and b"},           // (not a) and b
		{"not (a and b)", "not (a and b)"},       // kept
		{"not a or not b", "not a or not b"},     //
		{"a and (b and c)", "a and (b and c)"},   // right grouping kept: parses back the same
		{"((a))", "a"},                           //
		{"a AND b Or NOT c", "a and b or not c"}, // keywords are case-insensitive
		{"1 of selection* and not 1 of filter*", "1 of selection* and not 1 of filter*"},
		{"all of them", "all of them"},
		{"1 of THEM", "1 of them"},
		{"not not a", "not not a"},
		{"selection1 and (keywords1 or keywords2)", "selection1 and (keywords1 or keywords2)"},
	}
	for _, c := range cases {
		got, err := parseCondition(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("%q parsed as %q, want %q", c.in, got.String(), c.want)
		}
	}
	// The exact tree of the precedence cases.
	tree, _ := parseCondition("a or b and not c")
	if _, ok := tree.(condOr); !ok {
		t.Fatalf("a or b and not c: top is %T, want or", tree)
	}
	if r, ok := tree.(condOr).r.(condAnd); !ok {
		t.Fatalf("a or b and not c: right of or is %T, want and", tree.(condOr).r)
	} else if _, ok := r.r.(condNot); !ok {
		t.Fatalf("a or b and not c: right of and is %T, want not", r.r)
	}
}

func TestConditionParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "empty condition"},
		{"a and", "ends where"},
		{"a b", `unexpected "b"`},
		{"(a", "missing ')'"},
		{"a)", `unexpected ")"`},
		{"2 of sel*", "only `1 of` and `all of`"},
		{"1 of", "must follow"},
		{"1 of and", "must follow"},
		{"selection | count() > 5", "aggregation"},
		{"a near b", "near"},
		{"and", "unexpected"},
		{strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), "deeper"},
		{strings.Repeat("not ", 200) + "a", "deeper"},
	}
	for _, c := range cases {
		_, err := parseCondition(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// Evaluation of conditions over identifiers that are simply true or false
// (a selection on field x matching value "y").
func TestConditionEval(t *testing.T) {
	// t1, t2 match; f1, f2 do not; _t matches but starts with '_'.
	ids := "t1:\n    a: 1\nt2:\n    b: 1\nf1:\n    a: 2\nf2:\n    b: 2\n_t:\n    a: 1\n"
	doc := `{"a":1,"b":1}`
	cases := []struct {
		cond string
		want bool
	}{
		{"t1 and t2", true},
		{"t1 and f1", false},
		{"f1 or t1", true},
		{"f1 or f2", false},
		{"not f1", true},
		{"not t1", false},
		{"t1 or t2 and f1", true},    // t1 or (t2 and f1)
		{"(t1 or t2) and f1", false}, //
		{"not t1 and f1", false},     // (not t1) and f1
		{"not (t1 and f1)", true},    //
		{"not t1 or t1", true},       // (not t1) or t1
		{"1 of t*", true},
		{"all of t*", true},
		{"all of f*", false},
		{"1 of f*", false},
		{"1 of *1", true},
		{"all of *1", false}, // t1 and f1
		{"1 of them", true},
		{"all of them", false},
		{"all of t* and not 1 of f*", true},
		{"1 of _*", true}, // an explicit pattern reaches underscore identifiers
		{"all of t* and _t", true},
	}
	for _, c := range cases {
		e := newTestEngine(t, detRuleYAML("r1", ids+"condition: "+c.cond), Options{})
		got := len(e.Evaluate([]byte(doc), t0, "h")) == 1
		if got != c.want {
			t.Errorf("%q = %v, want %v", c.cond, got, c.want)
		}
	}
	// them leaves out underscore identifiers: with only _t true and the
	// other identifiers false, 1 of them is false.
	e := newTestEngine(t, detRuleYAML("r1", "f1:\n    a: 2\n_t:\n    a: 1\ncondition: 1 of them"), Options{})
	if len(e.Evaluate([]byte(doc), t0, "h")) != 0 {
		t.Error("1 of them counted an identifier starting with '_'")
	}
	// A list of conditions is their OR.
	e = newTestEngine(t, detRuleYAML("r1", ids+"condition:\n    - f1\n    - t2"), Options{})
	if len(e.Evaluate([]byte(doc), t0, "h")) != 1 {
		t.Error("a condition list is not the OR of its conditions")
	}
}
