package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// MetricsListen reads only metrics.listen (expanded, defaulted and checked
// as Load would), so a command that just talks to a running agent works
// from a shell that lacks the sources' ${VAR} credentials. "" means the
// listener is disabled.
func MetricsListen(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return "", errors.New("the configuration is empty")
		}
		return "", fmt.Errorf("not valid YAML: %v", err)
	}
	var c Config
	if n := mappingValue(&root, "metrics"); n != nil {
		var errs []error
		expandEnv(n, "metrics", &errs)
		if len(errs) > 0 {
			return "", errs[0]
		}
		if err := n.Decode(&c.Metrics); err != nil {
			return "", fmt.Errorf("metrics: %v", err)
		}
	}
	c.SetDefaults()
	if err := checkListen(*c.Metrics.Listen); err != nil {
		return "", fmt.Errorf("metrics.listen: %w", err)
	}
	return *c.Metrics.Listen, nil
}

// mappingValue returns the value under key in the document's top-level
// mapping, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
