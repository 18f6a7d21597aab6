package azureemu

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentUse drives the Go API and the HTTP API at once; run with
// -race.
func TestConcurrentUse(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "contributor", armScope)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			inc, err := v.emu.AddIncident(testWSName, Incident{Title: fmt.Sprint("go ", i)})
			if err == nil {
				_, err = v.emu.UpdateIncident(inc.Name, func(x *Incident) { x.Status = "Active" })
			}
			if err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
			r, body := v.do(t, http.MethodPut, incidentsPath()+"/"+name+apiV, tok, putBody("", baseProps()))
			if r.StatusCode != http.StatusCreated {
				errs <- fmt.Errorf("PUT %d %s", r.StatusCode, body)
			}
		}()
		go func() {
			defer wg.Done()
			if r, body := v.do(t, http.MethodGet, incidentsPath()+apiV, tok, nil); r.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("GET %d %s", r.StatusCode, body)
			}
			_ = v.emu.Incidents()
			_ = v.emu.Requests()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	incs := v.emu.Incidents()
	if len(incs) != 2*n {
		t.Fatalf("%d incidents, want %d", len(incs), 2*n)
	}
	seen := map[int]bool{}
	for _, inc := range incs {
		if seen[inc.Number] {
			t.Fatalf("incident number %d given twice", inc.Number)
		}
		seen[inc.Number] = true
	}
}
