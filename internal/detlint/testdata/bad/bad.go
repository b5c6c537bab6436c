// Package bad holds every construct the determinism guard must report.
package bad

import (
	"math/rand"
	"sync"
	clock "time"
)

var mu sync.Mutex

func Bad() {
	go func() {}()
	ch := make(chan int, 1)
	ch <- 1
	<-ch
	select {}
	_ = clock.Now()
	clock.Sleep(clock.Second)
	_ = rand.Int()
	_ = clock.Duration(5) // allowed: durations are not the wall clock
}
