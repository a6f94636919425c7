package event

import (
	"unicode"
	"unicode/utf8"
)

// objectClass says whether an object is an IAM entity and which kind.
type objectClass int

const (
	objOther objectClass = iota
	objUser              // a user account or a credential tied to one
	objAdmin             // an administrator or a role (the table's "admin" rows)
	objGroup             // a group of users
)

type objectInfo struct {
	class  objectClass
	person bool // the object's name is an account name: it goes to user.target
}

// objectKinds: object types, lower-case with separators removed and a plural
// "s" dropped. ECS gives IAM groups their own event.type ("group"), which fits
// a user group better than the table's generic "user".
var objectKinds = map[string]objectInfo{
	"user":           {objUser, true},
	"enduser":        {objUser, true},
	"localuser":      {objUser, true},
	"account":        {objUser, true},
	"useraccount":    {objUser, true},
	"serviceaccount": {objUser, true},
	"apicredential":  {objUser, false},
	"credential":     {objUser, false},
	"apikey":         {objUser, false},
	"apitoken":       {objUser, false},
	"password":       {objUser, false},
	"admin":          {objAdmin, true},
	"administrator":  {objAdmin, true},
	"adminuser":      {objAdmin, true},
	"portaladmin":    {objAdmin, true},
	"superadmin":     {objAdmin, true},
	"role":           {objAdmin, false},
	"adminrole":      {objAdmin, false},
	"userrole":       {objAdmin, false},
	"group":          {objGroup, false},
	"usergroup":      {objGroup, false},
	"admingroup":     {objGroup, false},
}

func classifyObject(objectType string) objectInfo {
	var buf [64]byte
	k := buf[:0]
	for _, r := range objectType {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			k = utf8.AppendRune(k, unicode.ToLower(r))
		}
	}
	if info, ok := objectKinds[string(k)]; ok {
		return info
	}
	if n := len(k); n > 1 && k[n-1] == 's' {
		return objectKinds[string(k[:n-1])]
	}
	return objectInfo{}
}

// categorize implements the table of ecs-mapping.md, with ECS's allowed
// values (authentication: start/end; iam: user/admin/group + creation/change/
// deletion; configuration: access/creation/change/deletion/info).
func categorize(v verb, obj objectInfo) (category string, types []string) {
	switch v {
	case verbLogin:
		return "authentication", typesStart
	case verbLogout:
		return "authentication", typesEnd
	case verbAccess:
		// ECS allows no "access" type under iam, and viewing or exporting
		// is a read of the configuration whatever the object, so access
		// verbs stay in configuration even for users.
		return "configuration", typesAccess
	case verbUnknown:
		return "configuration", typesInfo
	}
	if obj.class != objOther {
		return "iam", iamTypes[obj.class][v]
	}
	switch v {
	case verbCreate:
		return "configuration", typesCreation
	case verbDelete:
		return "configuration", typesDeletion
	}
	return "configuration", typesChange
}

// Shared, never-modified type arrays: Map writes them, it does not keep them.
var (
	typesStart    = []string{"start"}
	typesEnd      = []string{"end"}
	typesAccess   = []string{"access"}
	typesInfo     = []string{"info"}
	typesCreation = []string{"creation"}
	typesChange   = []string{"change"}
	typesDeletion = []string{"deletion"}

	iamTypes = map[objectClass]map[verb][]string{
		objUser: {
			verbCreate: {"user", "creation"}, verbChange: {"user", "change"}, verbDelete: {"user", "deletion"},
		},
		objAdmin: {
			verbCreate: {"admin", "creation"}, verbChange: {"admin", "change"}, verbDelete: {"admin", "deletion"},
		},
		objGroup: {
			verbCreate: {"group", "creation"}, verbChange: {"group", "change"}, verbDelete: {"group", "deletion"},
		},
	}
)
