package event

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// verb is what an operation does, whatever the vendor calls it.
type verb int

const (
	verbUnknown verb = iota
	verbLogin
	verbLogout
	verbCreate
	verbChange
	verbDelete
	verbAccess
)

// verbs maps operation words (lower-case, separators removed) to a verb.
// Past tenses are listed because vendors log both "Delete" and "Deleted".
var verbs = map[string]verb{
	"login": verbLogin, "logon": verbLogin, "signin": verbLogin, "loggedin": verbLogin,
	"signedin": verbLogin, "loggedon": verbLogin, "authenticate": verbLogin, "authenticated": verbLogin,

	"logout": verbLogout, "logoff": verbLogout, "signout": verbLogout, "loggedout": verbLogout,
	"signedout": verbLogout, "loggedoff": verbLogout,

	"create": verbCreate, "created": verbCreate, "add": verbCreate, "added": verbCreate,
	"new": verbCreate, "insert": verbCreate, "inserted": verbCreate, "import": verbCreate,
	"imported": verbCreate, "clone": verbCreate, "cloned": verbCreate, "copy": verbCreate,
	"copied": verbCreate, "register": verbCreate, "registered": verbCreate, "upload": verbCreate,
	"uploaded": verbCreate, "generate": verbCreate, "generated": verbCreate,

	"update": verbChange, "updated": verbChange, "edit": verbChange, "edited": verbChange,
	"modify": verbChange, "modified": verbChange, "change": verbChange, "changed": verbChange,
	"enable": verbChange, "enabled": verbChange, "disable": verbChange, "disabled": verbChange,
	"set": verbChange, "rename": verbChange, "renamed": verbChange, "move": verbChange,
	"moved": verbChange, "save": verbChange, "saved": verbChange, "replace": verbChange,
	"replaced": verbChange, "activate": verbChange, "activated": verbChange,
	"deactivate": verbChange, "deactivated": verbChange, "assign": verbChange,
	"assigned": verbChange, "unassign": verbChange, "unassigned": verbChange,
	"reset": verbChange, "lock": verbChange, "locked": verbChange, "unlock": verbChange,
	"unlocked": verbChange, "suspend": verbChange, "suspended": verbChange,
	"resume": verbChange, "resumed": verbChange, "reorder": verbChange, "reordered": verbChange,
	"publish": verbChange, "published": verbChange, "install": verbChange, "installed": verbChange,
	"apply": verbChange, "applied": verbChange, "configure": verbChange, "configured": verbChange,

	"delete": verbDelete, "deleted": verbDelete, "remove": verbDelete, "removed": verbDelete,
	"purge": verbDelete, "purged": verbDelete, "destroy": verbDelete, "destroyed": verbDelete,
	"revoke": verbDelete, "revoked": verbDelete, "uninstall": verbDelete, "uninstalled": verbDelete,

	"execute": verbAccess, "executed": verbAccess, "run": verbAccess, "ran": verbAccess,
	"email": verbAccess, "emailed": verbAccess, "mail": verbAccess, "mailed": verbAccess,
	"send": verbAccess, "sent": verbAccess, "download": verbAccess, "downloaded": verbAccess,
	"view": verbAccess, "viewed": verbAccess, "export": verbAccess, "exported": verbAccess,
	"read": verbAccess, "get": verbAccess, "list": verbAccess, "listed": verbAccess,
	"open": verbAccess, "opened": verbAccess, "search": verbAccess, "searched": verbAccess,
	"print": verbAccess, "printed": verbAccess, "access": verbAccess, "accessed": verbAccess,
	"query": verbAccess, "queried": verbAccess,
}

// actionName turns an operation into an ECS event.action: lower case, words
// joined by dashes. Words break at any non-letter-or-digit and at camelCase
// humps, keeping acronyms whole: "DisableAgent" and "Disable Agent" both give
// "disable-agent", "APIKeyCreate" gives "api-key-create".
func actionName(op string) string {
	if isSimpleLower(op) {
		return op
	}
	var buf [64]byte
	b := buf[:0]
	pendingDash := false
	var prev rune // previous letter or digit in the current word, 0 at a word start
	for i, r := range op {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			pendingDash = pendingDash || len(b) > 0
			prev = 0
			continue
		}
		if unicode.IsUpper(r) && prev != 0 {
			next, _ := utf8.DecodeRuneInString(op[i+utf8.RuneLen(r):])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && unicode.IsLower(next)) {
				pendingDash = true
			}
		}
		if pendingDash {
			b = append(b, '-')
			pendingDash = false
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
		prev = r
	}
	// Common one-word operations ("Delete", "Login") reuse a constant
	// string instead of allocating one per record.
	if s, ok := verbNames[string(b)]; ok {
		return s
	}
	return string(b)
}

// verbNames interns the keys of verbs, for actionName.
var verbNames = func() map[string]string {
	m := make(map[string]string, len(verbs))
	for k := range verbs {
		m[k] = k
	}
	return m
}()

// isSimpleLower is the fast path: "delete", "login".
func isSimpleLower(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && !isDigit(c) {
			return false
		}
	}
	return true
}

// verbOf finds the verb in an action name. The whole name is tried first
// ("sign-in" -> signin), then each adjacent pair of words ("log-in-user"),
// then each word, left to right, so that "user-login" and "disable-agent"
// work.
func verbOf(action string) verb {
	if action == "" {
		return verbUnknown
	}
	if v, ok := verbs[action]; ok {
		return v
	}
	var buf [64]byte
	if v, ok := verbs[string(appendWithoutDashes(buf[:0], action))]; ok {
		return v
	}
	for prev, rest := "", action; rest != ""; {
		var w string
		w, rest, _ = strings.Cut(rest, "-")
		if prev != "" {
			if v, ok := verbs[string(append(append(buf[:0], prev...), w...))]; ok {
				return v
			}
		}
		prev = w
	}
	for rest := action; rest != ""; {
		var w string
		w, rest, _ = strings.Cut(rest, "-")
		if v, ok := verbs[w]; ok {
			return v
		}
	}
	return verbUnknown
}

func appendWithoutDashes(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			dst = append(dst, s[i])
		}
	}
	return dst
}
