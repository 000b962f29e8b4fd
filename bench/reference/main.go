// Command reference-server serves a bench fixture (see ../README.md) with go-control-plane's
// SnapshotCache and ordered ADS, and speaks the bench control protocol on a second port.
//
//	reference-server --fixture FILE --xds-port PORT --control-port PORT [--linear-eds] [--per-type-versions]
//	                 [--cpu-profile FILE]
//
// Every node shares one snapshot (the NodeHash maps every node to the group "bench"). Both ADS protocols are
// served on the one port, as go-control-plane's server registers them: StreamAggregatedResources (SotW) and
// DeltaAggregatedResources (incremental), from the same caches (SnapshotCache and LinearCache both implement
// CreateDeltaWatch; the MuxCache routes delta EDS requests to the LinearCache by ClassifyDelta).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Register the Envoy message types a fixture may carry (the cache package already imports the
	// xDS resource types; these make the intent explicit).
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// groupKey is the one snapshot key every node maps to.
const groupKey = "bench"

type benchHash struct{}

func (benchHash) ID(*core.Node) string { return groupKey }

type fixtureResource struct {
	TypeURL string `json:"typeUrl"`
	Name    string `json:"name"`
	Value   []byte `json:"value"` // base64 in JSON
}

type fixtureStep struct {
	Upserts []fixtureResource `json:"upserts"`
	Removes []fixtureResource `json:"removes"`
}

type fixture struct {
	Scenario string        `json:"scenario"`
	Steps    []fixtureStep `json:"steps"`
}

// server holds the current state and applies steps.
type server struct {
	mu              sync.Mutex
	fx              *fixture
	next            int                                  // index of the next step to apply
	state           map[string]map[string]types.Resource // type URL → name → message
	typeVersion     map[string]string                    // per-type version (--per-type-versions)
	snapshots       cachev3.SnapshotCache
	linear          *cachev3.LinearCache // EDS when --linear-eds, else nil
	perTypeVersions bool
	// cpuProfile, if set, is written from the first POST /step to exit: the update phase, not the connect storm.
	cpuProfile     string
	profileStarted bool
}

func decode(r fixtureResource) (types.Resource, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(r.TypeURL)
	if err != nil {
		return nil, fmt.Errorf("resource %q: unknown type %q: %w", r.Name, r.TypeURL, err)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(r.Value, m); err != nil {
		return nil, fmt.Errorf("resource %q of type %q: %w", r.Name, r.TypeURL, err)
	}
	return m, nil
}

// applyNext applies step s.next to the state and hands the result to the caches. Caller holds s.mu.
func (s *server) applyNext() (int, error) {
	i := s.next
	if i >= len(s.fx.Steps) {
		return -1, errNoStep
	}
	step := &s.fx.Steps[i]
	version := "step-" + strconv.Itoa(i)

	changed := map[string]bool{}
	edsUpdate := map[string]types.Resource{}
	var edsDelete []string
	for _, r := range step.Upserts {
		m, err := decode(r)
		if err != nil {
			return -1, err
		}
		if s.linear != nil && r.TypeURL == resourcev3.EndpointType {
			edsUpdate[r.Name] = m
			continue
		}
		byName := s.state[r.TypeURL]
		if byName == nil {
			byName = map[string]types.Resource{}
			s.state[r.TypeURL] = byName
		}
		byName[r.Name] = m
		changed[r.TypeURL] = true
	}
	for _, r := range step.Removes {
		if s.linear != nil && r.TypeURL == resourcev3.EndpointType {
			edsDelete = append(edsDelete, r.Name)
			continue
		}
		if byName := s.state[r.TypeURL]; byName != nil {
			if _, ok := byName[r.Name]; ok {
				delete(byName, r.Name)
				changed[r.TypeURL] = true
			}
		}
	}

	// Full new snapshot of the state after step i.
	snap := &cachev3.Snapshot{}
	resources := map[resourcev3.Type][]types.Resource{}
	for typeURL, byName := range s.state {
		list := make([]types.Resource, 0, len(byName))
		for _, m := range byName {
			list = append(list, m)
		}
		resources[typeURL] = list
	}
	if s.perTypeVersions {
		// Each type keeps the version of the last step that changed it, so an unchanged type is not resent.
		for typeURL, list := range resources {
			if changed[typeURL] || s.typeVersion[typeURL] == "" {
				s.typeVersion[typeURL] = version
			}
			idx := cachev3.GetResponseType(typeURL)
			if idx == types.UnknownType {
				return -1, fmt.Errorf("unsupported resource type %q", typeURL)
			}
			snap.Resources[idx] = cachev3.NewResources(s.typeVersion[typeURL], list)
		}
	} else {
		var err error
		if snap, err = cachev3.NewSnapshot(version, resources); err != nil {
			return -1, err
		}
	}
	// The snapshot first, then the linear EDS cache: CDS changes go out before EDS ones.
	if err := s.snapshots.SetSnapshot(context.Background(), groupKey, snap); err != nil {
		return -1, err
	}
	if s.linear != nil && (i == 0 || len(edsUpdate) > 0 || len(edsDelete) > 0) {
		if err := s.linear.UpdateResources(edsUpdate, edsDelete); err != nil {
			return -1, err
		}
	}
	step.Upserts, step.Removes = nil, nil // the raw bytes are no longer needed
	s.next++
	return i, nil
}

var errNoStep = errors.New("no step left")

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return -1
}

func heapUsedBytes() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func ms(tv syscall.Timeval) float64 {
	return float64(tv.Sec)*1e3 + float64(tv.Usec)/1e3
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/step", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST only"})
			return
		}
		s.mu.Lock()
		if s.cpuProfile != "" && !s.profileStarted {
			s.profileStarted = true
			if f, err := os.Create(s.cpuProfile); err != nil {
				fmt.Fprintf(os.Stderr, "reference-server: cpu profile: %v\n", err)
			} else if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(os.Stderr, "reference-server: cpu profile: %v\n", err)
			}
		}
		i, err := s.applyNext()
		s.mu.Unlock()
		switch {
		case errors.Is(err, errNoStep):
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusOK, map[string]int{"step": i})
		}
	})
	// POST /gc: a forced collection that also returns freed memory to the OS, for the memory figures after
	// disconnect only (the Node servers do the same with V8's last-resort collection).
	mux.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST only"})
			return
		}
		debug.FreeOSMemory()
		writeJSON(w, http.StatusOK, map[string]any{"rssBytes": rssBytes(), "heapUsedBytes": heapUsedBytes()})
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "GET only"})
			return
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		writeJSON(w, http.StatusOK, map[string]any{
			"rssBytes":      rssBytes(),
			"cpuUserMs":     ms(ru.Utime),
			"cpuSystemMs":   ms(ru.Stime),
			"goroutines":    runtime.NumGoroutine(),
			"heapUsedBytes": heapUsedBytes(),
		})
	})
	return mux
}

// newServer builds the caches and applies step 0. The returned cache is the one to serve.
func newServer(fx *fixture, linearEDS, perTypeVersions bool) (*server, cachev3.Cache, error) {
	s := &server{
		fx:              fx,
		state:           map[string]map[string]types.Resource{},
		typeVersion:     map[string]string{},
		snapshots:       cachev3.NewSnapshotCache(true /* ads */, benchHash{}, nil),
		perTypeVersions: perTypeVersions,
	}
	var xdsCache cachev3.Cache = s.snapshots
	if linearEDS {
		s.linear = cachev3.NewLinearCache(resourcev3.EndpointType, cachev3.WithVersionPrefix("linear-"))
		xdsCache = &cachev3.MuxCache{
			Classify: func(r *cachev3.Request) string {
				if r.GetTypeUrl() == resourcev3.EndpointType {
					return "eds"
				}
				return "snapshot"
			},
			ClassifyDelta: func(r *cachev3.DeltaRequest) string {
				if r.GetTypeUrl() == resourcev3.EndpointType {
					return "eds"
				}
				return "snapshot"
			},
			Caches: map[string]cachev3.Cache{"eds": s.linear, "snapshot": s.snapshots},
		}
	}
	if _, err := s.applyNext(); err != nil {
		return nil, nil, fmt.Errorf("step 0: %w", err)
	}
	return s, xdsCache, nil
}

// newGRPCServer is the ADS server: go-control-plane's server with ordered ADS.
func newGRPCServer(ctx context.Context, c cachev3.Cache) *grpc.Server {
	xds := serverv3.NewServer(ctx, c, nil, sotw.WithOrderedADS())
	g := grpc.NewServer(
		grpc.MaxConcurrentStreams(1000000),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, xds)
	return g
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "reference-server: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	fixturePath := flag.String("fixture", "", "fixture JSON file")
	xdsPort := flag.Int("xds-port", 0, "ADS port on 127.0.0.1")
	controlPort := flag.Int("control-port", 0, "control HTTP port on 127.0.0.1")
	linearEDS := flag.Bool("linear-eds", false, "serve EDS from a LinearCache (through a MuxCache)")
	perTypeVersions := flag.Bool("per-type-versions", false, "version each type by the last step that changed it (default: every type gets step-<i>)")
	cpuProfile := flag.String("cpu-profile", "", "write a CPU profile (go tool pprof) from the first POST /step to exit")
	flag.Parse()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if *fixturePath == "" || *xdsPort == 0 || *controlPort == 0 {
		fail("usage: --fixture FILE --xds-port PORT --control-port PORT [--linear-eds] [--per-type-versions]")
	}

	raw, err := os.ReadFile(*fixturePath)
	if err != nil {
		fail("%v", err)
	}
	fx := &fixture{}
	if err := json.Unmarshal(raw, fx); err != nil {
		fail("fixture %s: %v", *fixturePath, err)
	}
	raw = nil
	if len(fx.Steps) == 0 {
		fail("fixture %s has no step", *fixturePath)
	}

	s, xdsCache, err := newServer(fx, *linearEDS, *perTypeVersions)
	if err != nil {
		fail("%v", err)
	}
	s.cpuProfile = *cpuProfile
	runtime.GC()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grpcServer := newGRPCServer(ctx, xdsCache)

	xdsLis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *xdsPort))
	if err != nil {
		fail("xds listen: %v", err)
	}
	ctlLis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *controlPort))
	if err != nil {
		fail("control listen: %v", err)
	}
	httpServer := &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 10 * time.Second}

	typeURLs := make([]string, 0, len(s.state)+1)
	for t := range s.state {
		typeURLs = append(typeURLs, t)
	}
	if s.linear != nil {
		typeURLs = append(typeURLs, resourcev3.EndpointType+" (linear)")
	}
	sort.Strings(typeURLs)
	fmt.Printf("reference-server: scenario %s, %d steps, xds 127.0.0.1:%d, control 127.0.0.1:%d, linear-eds %v, types %v\n",
		fx.Scenario, len(fx.Steps), *xdsPort, *controlPort, *linearEDS, typeURLs)

	go func() {
		if err := grpcServer.Serve(xdsLis); err != nil {
			fail("xds serve: %v", err)
		}
	}()
	go func() {
		if err := httpServer.Serve(ctlLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail("control serve: %v", err)
		}
	}()

	<-sig
	pprof.StopCPUProfile() // a no-op if none was started
	cancel()
	_ = httpServer.Close()
	grpcServer.Stop()
	os.Exit(0)
}
