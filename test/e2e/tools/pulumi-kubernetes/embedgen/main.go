// embedgen writes the two files the kubernetes provider embeds, from the provider module's
// cmd/pulumi-resource-kubernetes/schema.json and terraform-mapping.json: the schema with its
// "version" field set (the provider reports it to the engine and SDK generators), both minified.
//
//	go run ./embedgen -module-dir DIR -version 4.25.0 -out DIR
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
)

func main() {
	moduleDir := flag.String("module-dir", "", "directory of github.com/pulumi/pulumi-kubernetes/provider/v4")
	version := flag.String("version", "", "provider version without a leading v")
	out := flag.String("out", ".", "directory to write schema-embed.json and terraform-mapping-embed.json to")
	flag.Parse()
	if *moduleDir == "" || *version == "" {
		log.Fatal("embedgen: -module-dir and -version are required")
	}
	src := filepath.Join(*moduleDir, "cmd", "pulumi-resource-kubernetes")

	var schema map[string]json.RawMessage
	readJSON(filepath.Join(src, "schema.json"), &schema)
	v, err := json.Marshal(*version)
	if err != nil {
		log.Fatal(err)
	}
	schema["version"] = v
	writeJSON(filepath.Join(*out, "schema-embed.json"), schema)

	mapping := readRaw(filepath.Join(src, "terraform-mapping.json"))
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		log.Fatalf("embedgen: terraform-mapping.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "terraform-mapping-embed.json"), compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func readRaw(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatalf("embedgen: %v", err)
	}
	return data
}

func readJSON(path string, v any) {
	if err := json.Unmarshal(readRaw(path), v); err != nil {
		log.Fatalf("embedgen: %s: %v", path, err)
	}
}

func writeJSON(path string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
}
