package client

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// Await runs the simulation until an asynchronous client call completes,
// so that a test or a tool can use the admin client, the producer or the
// consumer without a callback loop of its own. start begins the call and
// must arrange for done to be called from the call's callback. Await
// returns nil once done ran, the simulation's error if it failed, or an
// error saying the call did not complete within limit of simulated time.
func Await(s *sim.Sim, limit time.Duration, start func(done func())) error {
	finished := false
	start(func() { finished = true })
	ok, err := s.RunUntilTrue(s.Now()+limit, func() bool { return finished })
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the call did not complete within %v of simulated time", limit)
	}
	return nil
}
