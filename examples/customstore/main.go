// Command customstore shows a host backing one mdmkit storage interface
// with its own code: one-time SCEP challenges kept as files in a
// directory. store_test.go runs mdmkit's conformance suite on it, which is
// how a host shows its backend meets the interface's contract.
//
//	go run ./examples/customstore
//	go test ./examples/customstore
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mdmkit/mdmkit/scep"
)

func main() {
	dir, err := os.MkdirTemp("", "challenges-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := newDirChallenges(filepath.Join(dir, "challenges"))
	if err != nil {
		log.Fatal(err)
	}
	// OneTimeChallenges is a scep.ChallengeValidator: give it to scep.New
	// in place of a static challenge.
	challenges := &scep.OneTimeChallenges{Store: store}
	var _ scep.ChallengeValidator = challenges

	ctx := context.Background()
	c, err := challenges.New(ctx)
	if err != nil {
		log.Fatal(err)
	}
	files, _ := os.ReadDir(store.dir)
	fmt.Printf("issued a challenge of %d characters; the store holds %d digest file(s), never the challenge\n", len(c), len(files))
}
