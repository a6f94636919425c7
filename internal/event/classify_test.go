package event

import (
	"slices"
	"testing"
)

func TestActionName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Delete", "delete"},
		{"delete", "delete"},
		{"DELETE", "delete"},
		{"Login", "login"},
		{"DisableAgent", "disable-agent"},
		{"Disable Agent", "disable-agent"},
		{"disable_agent", "disable-agent"},
		{"disable-agent", "disable-agent"},
		{"  Disable   Agent  ", "disable-agent"},
		{"APIKeyCreate", "api-key-create"},
		{"createAPIKey", "create-api-key"},
		{"SIGN_IN", "sign-in"},
		{"Email Report", "email-report"},
		{"Update.Policy/Rule", "update-policy-rule"},
		{"Login2FA", "login2fa"},
		{"Löschen", "löschen"},
		{"ÄnderungSpeichern", "änderung-speichern"},
		{"", ""},
		{"---", ""},
	}
	for _, tt := range tests {
		if got := actionName(tt.in); got != tt.want {
			t.Errorf("actionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVerbOf(t *testing.T) {
	tests := []struct {
		op   string
		want verb
	}{
		{"Login", verbLogin}, {"LogOn", verbLogin}, {"Sign In", verbLogin}, {"SignIn", verbLogin},
		{"UserLogin", verbLogin}, {"Log In User", verbLogin}, {"LoggedIn", verbLogin},
		{"Logout", verbLogout}, {"Log Off", verbLogout}, {"SignOut", verbLogout},
		{"Create", verbCreate}, {"Add", verbCreate}, {"AddUser", verbCreate}, {"Created", verbCreate}, {"Import", verbCreate},
		{"Update", verbChange}, {"Edit", verbChange}, {"Modify", verbChange}, {"Enable", verbChange},
		{"Disable", verbChange}, {"DisableAgent", verbChange}, {"Rename", verbChange},
		{"Delete", verbDelete}, {"Remove", verbDelete}, {"Deleted", verbDelete}, {"RemoveLocation", verbDelete},
		{"Execute", verbAccess}, {"Email", verbAccess}, {"Download", verbAccess}, {"View", verbAccess},
		{"Run Report", verbAccess}, {"Export", verbAccess},
		{"Frobnicate", verbUnknown}, {"", verbUnknown}, {"Sync", verbUnknown},
	}
	for _, tt := range tests {
		if got := verbOf(actionName(tt.op)); got != tt.want {
			t.Errorf("verbOf(%q) = %d, want %d", tt.op, got, tt.want)
		}
	}
}

// TestCategorize is the table of ecs-mapping.md, row by row.
func TestCategorize(t *testing.T) {
	tests := []struct {
		op, objType string
		category    string
		types       []string
	}{
		{"Login", "User", "authentication", []string{"start"}},
		{"Login", "", "authentication", []string{"start"}},
		{"Login", "PolicyRule", "authentication", []string{"start"}},
		{"Logout", "Admin", "authentication", []string{"end"}},
		{"Create", "User", "iam", []string{"user", "creation"}},
		{"Add", "ApiCredential", "iam", []string{"user", "creation"}},
		{"Create", "Admin", "iam", []string{"user", "creation"}}, // an admin account is a user (ECS "admin" affects no user)
		{"Add", "Role", "iam", []string{"admin", "creation"}},
		{"Update", "user", "iam", []string{"user", "change"}},
		{"Edit", "Role", "iam", []string{"admin", "change"}},
		{"Enable", "API Credential", "iam", []string{"user", "change"}},
		{"Disable", "Administrator", "iam", []string{"user", "change"}},
		{"Delete", "USER", "iam", []string{"user", "deletion"}},
		{"Remove", "admin", "iam", []string{"user", "deletion"}},
		{"Update", "Admin", "iam", []string{"user", "change"}},
		{"Delete", "Role", "iam", []string{"admin", "deletion"}},
		{"Delete", "Users", "iam", []string{"user", "deletion"}},
		{"Create", "UserGroup", "iam", []string{"group", "creation"}},
		{"Create", "PolicyRule", "configuration", []string{"creation"}},
		{"Update", "Location", "configuration", []string{"change"}},
		{"Delete", "PolicyRule", "configuration", []string{"deletion"}},
		{"Disable", "Agent", "configuration", []string{"change"}},
		{"DisableAgent", "", "configuration", []string{"change"}},
		{"Update", "setting", "configuration", []string{"change"}},
		{"Create", "", "configuration", []string{"creation"}},
		{"Execute", "Report", "configuration", []string{"access"}},
		{"Email", "Report", "configuration", []string{"access"}},
		{"Download", "log", "configuration", []string{"access"}},
		{"View", "Report", "configuration", []string{"access"}},
		{"View", "User", "configuration", []string{"access"}},
		{"Frobnicate", "User", "configuration", []string{"info"}},
		{"", "", "configuration", []string{"info"}},
		{"Sync", "Agent", "configuration", []string{"info"}},
	}
	for _, tt := range tests {
		cat, types := categorize(verbOf(actionName(tt.op)), classifyObject(tt.objType))
		if cat != tt.category || !slices.Equal(types, tt.types) {
			t.Errorf("categorize(%q, %q) = %s %v, want %s %v", tt.op, tt.objType, cat, types, tt.category, tt.types)
		}
	}
}

// TestClassifyObjectTarget: which objects' names are the user.target of an
// IAM event (accounts and the API credentials that act as one).
func TestClassifyObjectTarget(t *testing.T) {
	tests := []struct {
		objType string
		target  bool
	}{
		{"User", true}, {"Admin", true}, {"Administrator", true}, {"admin user", true},
		{"ApiCredential", true}, {"API Key", true},
		{"Role", false}, {"PolicyRule", false}, {"", false}, {"Report", false}, {"Password", false},
	}
	for _, tt := range tests {
		if got := classifyObject(tt.objType).target; got != tt.target {
			t.Errorf("classifyObject(%q).target = %v, want %v", tt.objType, got, tt.target)
		}
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct{ in, want string }{
		{"success", "success"}, {"Success", "success"}, {"SUCCESS", "success"}, {"succeeded", "success"},
		{"Succeeded", "success"}, {"ok", "success"}, {"OK", "success"}, {"true", "success"}, {"True", "success"},
		{"passed", "success"}, {"Passed", "success"}, {"successful", "success"},
		{"failure", "failure"}, {"Failure", "failure"}, {"failed", "failure"}, {"FAILED", "failure"},
		{"fail", "failure"}, {"error", "failure"}, {"Error", "failure"}, {"denied", "failure"},
		{"Denied", "failure"}, {"false", "failure"}, {"FALSE", "failure"},
		{"", "unknown"}, {"pending", "unknown"}, {"Warning", "unknown"}, {"200", "unknown"},
		{"a very long status value that is not any known word at all", "unknown"},
	}
	for _, tt := range tests {
		if got := outcomeOf(tt.in); got != tt.want {
			t.Errorf("outcomeOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
