// Command schemas prepares the JSON schemas kubeconform validates the Helm chart against,
// from files that came through package registries, so the check runs without the internet
// (scripts/install-tools.sh runs it):
//
//	schemas -wheel kubernetes_validate-X-py3-none-any.whl -versions v1.29.0,v1.37.0 -out DIR CRD.yaml...
//
// Kubernetes kinds: the PyPI wheel of kubernetes-validate holds, per Kubernetes version, a
// "local-strict" directory with one schema per kind whose $refs point at
// /api/_definitions.json under an https $id. Those are copied to
// DIR/kubernetes/<version>-local-strict/ with the $id dropped and the $refs made relative
// to the shared _definitions.json beside them, which kubeconform then loads from disk.
//
// CRDs: each CustomResourceDefinition's openAPIV3Schema, per served version, becomes
// DIR/crds/<group>/<kind>_<version>.json (kubeconform's {{.Group}}/{{.ResourceKind}}_
// {{.ResourceAPIVersion}} layout), made strict: an object with declared properties and
// neither additionalProperties nor x-kubernetes-preserve-unknown-fields accepts no other
// field, because the API server would silently prune it.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	wheel := flag.String("wheel", "", "kubernetes-validate wheel (.whl)")
	versions := flag.String("versions", "v1.37.0", "comma-separated Kubernetes versions to extract")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if *wheel == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: schemas -wheel FILE -versions v1.X.0,... -out DIR [CRD.yaml...]")
		os.Exit(2)
	}
	for _, v := range strings.Split(*versions, ",") {
		n, err := extractKubernetes(*wheel, strings.TrimSpace(v), filepath.Join(*out, "kubernetes"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "schemas:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "schemas: Kubernetes %s: %d schemas\n", v, n)
	}
	for _, crd := range flag.Args() {
		names, err := convertCRD(crd, filepath.Join(*out, "crds"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "schemas:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "schemas: %s -> %s\n", filepath.Base(crd), strings.Join(names, ", "))
	}
}

// extractKubernetes copies <version>-local-strict out of the wheel; it returns the file count.
func extractKubernetes(wheel, version, outDir string) (int, error) {
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	dirName := version + "-local-strict"
	prefix := "kubernetes_validate/kubernetes-json-schema/" + dirName + "/"
	dst := filepath.Join(outDir, dirName)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, err
	}
	n := 0
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, prefix) || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		name := path.Base(f.Name)
		raw, err := readZip(f)
		if err != nil {
			return n, err
		}
		fixed, err := localise(raw, name == "_definitions.json")
		if err != nil {
			return n, fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), fixed, 0o644); err != nil {
			return n, err
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("no %s in %s (versions in this wheel: see kubernetes_validate/kubernetes-json-schema/)", prefix, wheel)
	}
	if _, err := os.Stat(filepath.Join(dst, "_definitions.json")); err != nil {
		return n, fmt.Errorf("%s has no _definitions.json", prefix)
	}
	return n, nil
}

func readZip(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// localise drops the top-level $id (an https URL kubeconform would resolve $refs against)
// and points the $refs at the _definitions.json in the same directory.
func localise(raw []byte, isDefinitions bool) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	delete(doc, "$id")
	target := "_definitions.json#"
	if isDefinitions {
		target = "#"
	}
	rewriteRefs(doc, func(ref string) string {
		if rest, ok := strings.CutPrefix(ref, "/api/_definitions.json#"); ok {
			return target + rest
		}
		return ref
	})
	return json.Marshal(doc)
}

func rewriteRefs(v any, f func(string) string) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if s, ok := child.(string); ok && k == "$ref" {
				t[k] = f(s)
				continue
			}
			rewriteRefs(child, f)
		}
	case []any:
		for _, child := range t {
			rewriteRefs(child, f)
		}
	}
}

type crdDoc struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Group string `yaml:"group"`
		Names struct {
			Kind string `yaml:"kind"`
		} `yaml:"names"`
		Versions []struct {
			Name   string `yaml:"name"`
			Served bool   `yaml:"served"`
			Schema struct {
				OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
			} `yaml:"schema"`
		} `yaml:"versions"`
	} `yaml:"spec"`
}

// convertCRD writes one strict JSON schema per served version of the CRD(s) in file.
func convertCRD(file, outDir string) ([]string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var names []string
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc crdDoc
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if doc.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range doc.Spec.Versions {
			if !v.Served || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			schema := v.Schema.OpenAPIV3Schema
			strict(schema)
			// apiVersion and kind must be exactly this resource's.
			if props, ok := schema["properties"].(map[string]any); ok {
				props["apiVersion"] = map[string]any{"type": "string", "enum": []any{doc.Spec.Group + "/" + v.Name}}
				props["kind"] = map[string]any{"type": "string", "enum": []any{doc.Spec.Names.Kind}}
			}
			out, err := json.MarshalIndent(schema, "", " ")
			if err != nil {
				return nil, err
			}
			dir := filepath.Join(outDir, doc.Spec.Group)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			name := strings.ToLower(doc.Spec.Names.Kind) + "_" + v.Name + ".json"
			if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
				return nil, err
			}
			names = append(names, doc.Spec.Group+"/"+name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no served CRD version with a schema", file)
	}
	return names, nil
}

// strict closes every object schema that declares properties and says nothing about
// other fields. metadata is left open: the API server validates it, not the CRD.
func strict(v any) {
	switch t := v.(type) {
	case map[string]any:
		_, hasProps := t["properties"]
		_, hasAdditional := t["additionalProperties"]
		preserve, _ := t["x-kubernetes-preserve-unknown-fields"].(bool)
		if hasProps && !hasAdditional && !preserve {
			t["additionalProperties"] = false
		}
		for k, child := range t {
			if k == "properties" {
				if props, ok := child.(map[string]any); ok {
					for name, p := range props {
						if name == "metadata" {
							continue
						}
						strict(p)
					}
				}
				continue
			}
			strict(child)
		}
	case []any:
		for _, child := range t {
			strict(child)
		}
	}
}
