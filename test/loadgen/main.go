// Command loadgen sends inbound webhook events to a local lastmile server and
// reports throughput and latency.
//
// Usage:
//
//	go run ./test/loadgen -url http://127.0.0.1:8080/webhook/SECRET -c 32 -n 50000
//	go run ./test/loadgen -baseline -c 32 -n 50000   # trivial in-process server
//
// The run stops after -n requests or -d, whichever comes first; a -warmup
// phase runs before it and is not counted. A fraction -unique of the events
// carries a fresh X-S4-ExternalID (each opens an alert); the rest reuse a
// small set of ids, so they exercise deduplication. Only 127.0.0.1, localhost
// and ::1 are accepted as targets.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dupIDs is the number of external ids shared by non-unique events.
const dupIDs = 16

type config struct {
	url      string
	c, n     int
	d        time.Duration
	warmup   time.Duration
	unique   float64
	timeout  time.Duration
	jsonOut  bool
	baseline bool
}

// Result is what a run measured; latencies are in milliseconds.
type Result struct {
	Target      string         `json:"target"`
	Concurrency int            `json:"concurrency"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Statuses    map[string]int `json:"statuses"`
	Seconds     float64        `json:"seconds"`
	PerSecond   float64        `json:"perSecond"`
	P50         float64        `json:"p50Ms"`
	P90         float64        `json:"p90Ms"`
	P99         float64        `json:"p99Ms"`
	Max         float64        `json:"maxMs"`
}

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "", "webhook URL, e.g. http://127.0.0.1:8080/webhook/SECRET")
	flag.IntVar(&cfg.c, "c", 32, "concurrent connections")
	flag.IntVar(&cfg.n, "n", 10000, "total requests to measure")
	flag.DurationVar(&cfg.d, "d", 60*time.Second, "maximum duration of the measured phase")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured warm-up before the run (0 for none)")
	flag.Float64Var(&cfg.unique, "unique", 0.9, "fraction of events with a fresh external id (0..1)")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.BoolVar(&cfg.jsonOut, "json", false, "print the result as JSON")
	flag.BoolVar(&cfg.baseline, "baseline", false, "load a trivial in-process server answering 201 instead of -url")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if cfg.c < 1 || cfg.n < 1 || cfg.d <= 0 || cfg.warmup < 0 || cfg.unique < 0 || cfg.unique > 1 {
		return errors.New("need -c ≥ 1, -n ≥ 1, -d > 0, -warmup ≥ 0 and 0 ≤ -unique ≤ 1")
	}
	if cfg.baseline {
		stop, u, err := startBaseline()
		if err != nil {
			return err
		}
		defer stop()
		cfg.url = u
	}
	if err := checkLocal(cfg.url); err != nil {
		return err
	}
	client := &http.Client{
		Timeout: cfg.timeout,
		// Proxy is nil: requests go straight to the loopback target.
		Transport:     &http.Transport{MaxIdleConns: cfg.c, MaxIdleConnsPerHost: cfg.c, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	if cfg.warmup > 0 {
		load(client, cfg, "w"+runID, cfg.n, cfg.warmup)
	}
	res := load(client, cfg, runID, cfg.n, cfg.d)
	res.Target = redact(cfg.url)
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printResult(res)
	return nil
}

// checkLocal refuses any target that is not this machine's loopback.
func checkLocal(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url %q: need an http(s) URL", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("-url host %q refused: only 127.0.0.1, localhost and ::1 are allowed", u.Hostname())
}

// redact hides the team secret, the last path element, in reports.
func redact(raw string) string {
	if i := strings.LastIndexByte(raw, '/'); i >= 0 && strings.Contains(raw, "/webhook/") {
		return raw[:i+1] + "…"
	}
	return raw
}

// load runs up to n requests on cfg.c workers for at most d.
func load(client *http.Client, cfg config, runID string, n int, d time.Duration) Result {
	var next atomic.Int64
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, cfg.c)
	stat := make([]map[string]int, cfg.c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.c {
		stat[w] = map[string]int{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for {
				i := next.Add(1)
				if i > int64(n) || time.Now().After(deadline) {
					return
				}
				ext := fmt.Sprintf("lg-%s-%d", runID, i)
				if rng.Float64() >= cfg.unique {
					ext = fmt.Sprintf("lg-dup-%d", rng.IntN(dupIDs))
				}
				t0 := time.Now()
				code := send(client, cfg.url, ext, i)
				lat[w] = append(lat[w], time.Since(t0))
				stat[w][code]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	all := slices.Concat(lat...)
	slices.Sort(all)
	res := Result{Concurrency: cfg.c, Requests: len(all), Statuses: map[string]int{}, Seconds: elapsed.Seconds()}
	for _, s := range stat {
		for code, k := range s {
			res.Statuses[code] += k
			if code != "201" {
				res.Errors += k
			}
		}
	}
	if len(all) > 0 {
		res.PerSecond = float64(len(all)) / elapsed.Seconds()
		res.P50, res.P90, res.P99 = ms(pct(all, 0.50)), ms(pct(all, 0.90)), ms(pct(all, 0.99))
		res.Max = ms(all[len(all)-1])
	}
	return res
}

// send posts one event and returns its status code, or "transport" when no
// answer came.
func send(client *http.Client, target, ext string, i int64) string {
	body, _ := json.Marshal(map[string]string{
		"Title":           "loadgen event " + strconv.FormatInt(i, 10),
		"Message":         "synthetic event sent by test/loadgen",
		"X-S4-ExternalID": ext,
		"Host":            "web-" + strconv.FormatInt(i%8, 10),
		"Severity":        "high",
	})
	resp, err := client.Post(target, "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "transport"
	}
	// Drain so the connection is reused.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// startBaseline serves a trivial handler on a loopback port: it reads the
// body and answers 201 with a small JSON document.
func startBaseline() (stop func(), target string, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"eventId":"baseline"}`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, "http://" + ln.Addr().String() + "/webhook/baseline", nil
}

func printResult(r Result) {
	fmt.Printf("target       %s\n", r.Target)
	fmt.Printf("concurrency  %d\n", r.Concurrency)
	fmt.Printf("requests     %d in %.2fs\n", r.Requests, r.Seconds)
	fmt.Printf("throughput   %.0f req/s\n", r.PerSecond)
	fmt.Printf("latency ms   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", r.P50, r.P90, r.P99, r.Max)
	codes := make([]string, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%s×%d", c, r.Statuses[c]))
	}
	fmt.Printf("statuses     %s  (errors %d)\n", strings.Join(parts, " "), r.Errors)
}
