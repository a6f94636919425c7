package event

import (
	"unicode"
	"unicode/utf8"
)

// objectClass says whether an object is an IAM entity and which kind.
type objectClass int

const (
	objOther objectClass = iota
	objUser              // an account (end user or administrator) or a credential tied to one
	objAdmin             // a role: an IAM object that is no user and no group
	objGroup             // a group of users
)

// objectEntity says which non-IAM ECS field set an object's name belongs in.
type objectEntity int

const (
	entNone objectEntity = iota
	entRule              // a policy rule: its name is rule.name
	entHost              // an agent or device: its name is host.name
)

type objectInfo struct {
	class  objectClass
	target bool // the object's name names an account or credential: it goes to user.target
	entity objectEntity
}

// objectKinds: object types, lower-case with separators removed and a plural
// "s" dropped.
//
// Administrators are users: ECS's event.type "admin" is for IAM changes that
// affect no user or group ("adding new applications to a federation
// solution"), so creating, changing or deleting an admin account is
// [user, creation|change|deletion], which is what Elastic's user-management
// views and rules look for. A role is such an "admin" object. An API
// credential acts as an account (it signs in to the API), so its name is the
// user.target of the IAM event, as Elastic's Okta and Azure pipelines do with
// service principals. ECS gives IAM groups their own event.type ("group").
var objectKinds = map[string]objectInfo{
	"user":           {objUser, true, entNone},
	"enduser":        {objUser, true, entNone},
	"localuser":      {objUser, true, entNone},
	"account":        {objUser, true, entNone},
	"useraccount":    {objUser, true, entNone},
	"serviceaccount": {objUser, true, entNone},
	"apicredential":  {objUser, true, entNone},
	"credential":     {objUser, true, entNone},
	"apikey":         {objUser, true, entNone},
	"apitoken":       {objUser, true, entNone},
	"password":       {objUser, false, entNone}, // its "name" is no account
	"admin":          {objUser, true, entNone},
	"administrator":  {objUser, true, entNone},
	"adminuser":      {objUser, true, entNone},
	"portaladmin":    {objUser, true, entNone},
	"superadmin":     {objUser, true, entNone},
	"role":           {objAdmin, false, entNone},
	"adminrole":      {objAdmin, false, entNone},
	"userrole":       {objAdmin, false, entNone},
	"group":          {objGroup, false, entNone},
	"usergroup":      {objGroup, false, entNone},
	"admingroup":     {objGroup, false, entNone},

	"policyrule":   {objOther, false, entRule},
	"rule":         {objOther, false, entRule},
	"policy":       {objOther, false, entRule},
	"firewallrule": {objOther, false, entRule},
	"contentrule":  {objOther, false, entRule},
	"accessrule":   {objOther, false, entRule},

	"agent":       {objOther, false, entHost},
	"wssagent":    {objOther, false, entHost},
	"clientagent": {objOther, false, entHost},
	"device":      {objOther, false, entHost},
	"endpoint":    {objOther, false, entHost},
	"host":        {objOther, false, entHost},
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
