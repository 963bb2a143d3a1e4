package main

import (
	"fmt"
	"strings"
)

func run(input string) (string, error) {
	name := strings.TrimSpace(input)
	if name == "" {
		name = "world"
	}
	return fmt.Sprintf("Hello, %s!", name), nil
}
