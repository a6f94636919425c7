package config

import (
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// resolvePaths makes every file path in the document absolute against dir,
// the config file's directory (as Prometheus does): a relative state_dir
// must not depend on the shell a service was started from. Paths are
// state_dir, every *_file key (secrets, TLS files) and a file output's
// path; an empty value stays empty.
func resolvePaths(n *yaml.Node, dir string) {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	walkPaths(n, dir, "")
}

func walkPaths(n *yaml.Node, dir, parentType string) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			walkPaths(c, dir, "")
		}
	case yaml.MappingNode:
		typ := ""
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "type" {
				typ = n.Content[i+1].Value
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if v.Kind == yaml.ScalarNode && isPathKey(k, typ) {
				v.Value = absPath(v.Value, dir)
				continue
			}
			walkPaths(v, dir, typ)
		}
	}
}

func isPathKey(key, mappingType string) bool {
	return key == "state_dir" || strings.HasSuffix(key, "_file") || (key == "path" && mappingType == "file")
}

func absPath(p, dir string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		return p // not expanded by us; validation names it
	}
	return filepath.Join(dir, p)
}
