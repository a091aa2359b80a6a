// oci-image writes an OCI image layout as a tar archive (image-spec v1.1: oci-layout, index.json,
// blobs/sha256/*) holding one linux image of one uncompressed layer, for `ctr images import`.
//
//	oci-image -o out.tar -name ghcr.io/kube-vip/kube-vip:v1.2.2 -entrypoint /kube-vip \
//	    -file /kube-vip=/path/to/kube-vip [-file /etc/x=/path/x ...] [-arch amd64]
//
// The full image name goes into the index's manifest descriptor as the annotation
// "io.containerd.image.name", which containerd's importer names the image by (client/import.go
// imageName reads it before "org.opencontainers.image.ref.name", which the spec limits to a tag).
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// The layer's files get a fixed time, so the same inputs make the same digests.
var epoch = time.Unix(0, 0).UTC()

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// layer is a tar of the files (image path → host path), with their parent directories, all root-owned.
func layer(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	targets := make([]string, 0, len(files))
	for target := range files {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	dirs := map[string]bool{}
	for _, target := range targets {
		rel := strings.TrimPrefix(path.Clean(target), "/")
		for d := path.Dir(rel); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	for _, target := range targets {
		data, err := os.ReadFile(files[target])
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(files[target])
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(path.Clean(target), "/"), Mode: int64(info.Mode().Perm()), Size: int64(len(data)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func run() error {
	out := flag.String("o", "", "the archive to write")
	name := flag.String("name", "", "the full image name with its tag, e.g. ghcr.io/kube-vip/kube-vip:v1.2.2")
	entrypoint := flag.String("entrypoint", "", "the image's entrypoint (one path)")
	arch := flag.String("arch", runtime.GOARCH, "the image's architecture")
	var files fileList
	flag.Var(&files, "file", "IMAGE_PATH=HOST_PATH, repeatable")
	flag.Parse()
	if *out == "" || *name == "" || *entrypoint == "" || len(files) == 0 {
		return fmt.Errorf("-o, -name, -entrypoint and at least one -file are required")
	}
	colon := strings.LastIndex(*name, ":")
	if colon < 0 || strings.Contains((*name)[colon:], "/") {
		return fmt.Errorf("-name %q has no tag: the image must be named exactly as it is referenced", *name)
	}
	fileMap := map[string]string{}
	for _, f := range files {
		target, source, ok := strings.Cut(f, "=")
		if !ok || !strings.HasPrefix(target, "/") {
			return fmt.Errorf("-file %q: want /IMAGE_PATH=HOST_PATH", f)
		}
		fileMap[target] = source
	}
	layerTar, err := layer(fileMap)
	if err != nil {
		return err
	}
	config, err := json.Marshal(map[string]any{
		"architecture": *arch,
		"os":           "linux",
		"config":       map[string]any{"Entrypoint": []string{*entrypoint}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digest(layerTar)}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest(config), Size: len(config)},
		"layers":        []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: digest(layerTar), Size: len(layerTar)}},
	})
	if err != nil {
		return err
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []descriptor{{
			MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: digest(manifest), Size: len(manifest),
			Annotations: map[string]string{"io.containerd.image.name": *name, "org.opencontainers.image.ref.name": (*name)[colon+1:]},
		}},
	})
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	write := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{"blobs/sha256/" + strings.TrimPrefix(digest(config), "sha256:"), config},
		{"blobs/sha256/" + strings.TrimPrefix(digest(manifest), "sha256:"), manifest},
		{"blobs/sha256/" + strings.TrimPrefix(digest(layerTar), "sha256:"), layerTar},
	} {
		if err := write(e.name, e.data); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oci-image:", err)
		os.Exit(1)
	}
}
