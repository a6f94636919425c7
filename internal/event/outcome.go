package event

// outcomes maps status words, lower-cased, to event.outcome. Anything else,
// or no status at all, is "unknown": guessing would make failed-login rules
// miss or misfire.
var outcomes = map[string]string{
	"success": "success", "succeeded": "success", "successful": "success", "ok": "success",
	"true": "success", "passed": "success", "pass": "success", "completed": "success",
	"complete": "success", "done": "success", "allowed": "success",

	"failure": "failure", "failed": "failure", "fail": "failure", "error": "failure",
	"errored": "failure", "denied": "failure", "false": "failure", "rejected": "failure",
	"unsuccessful": "failure", "forbidden": "failure", "unauthorized": "failure",
	"aborted": "failure",
}

func outcomeOf(status string) string {
	if status == "" {
		return "unknown"
	}
	if o, ok := outcomes[status]; ok {
		return o
	}
	var buf [32]byte
	if len(status) <= len(buf) {
		b := buf[:0]
		for i := 0; i < len(status); i++ {
			c := status[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		if o, ok := outcomes[string(b)]; ok {
			return o
		}
	}
	return "unknown"
}
