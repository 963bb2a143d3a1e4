package main

import (
	"fmt"
	"time"
)

func main() {
	fmt.Println("Hello, world!")
	for i := 1; i <= 3; i++ {
		time.Sleep(500 * time.Millisecond)
		fmt.Printf("tick %d\n", i)
	}
}
