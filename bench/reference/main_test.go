package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func edsCluster(name string) *cluster.Cluster {
	return &cluster.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig: &cluster.Cluster_EdsClusterConfig{EdsConfig: &core.ConfigSource{
			ConfigSourceSpecifier: &core.ConfigSource_Ads{Ads: &core.AggregatedConfigSource{}},
			ResourceApiVersion:    core.ApiVersion_V3,
		}},
		ConnectTimeout: durationpb.New(time.Second),
	}
}

func cla(name string, ports ...uint32) *endpoint.ClusterLoadAssignment {
	var lbs []*endpoint.LbEndpoint
	for _, p := range ports {
		lbs = append(lbs, &endpoint.LbEndpoint{HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{
			Address: &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
				Address: "127.0.0.1", PortSpecifier: &core.SocketAddress_PortValue{PortValue: p}}}}}}})
	}
	return &endpoint.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpoint.LocalityLbEndpoints{{LbEndpoints: lbs}}}
}

// Two steps: a cluster and its endpoints, then a second endpoint for it.
func twoSteps(t *testing.T) *fixture {
	return &fixture{Scenario: "test", Steps: []fixtureStep{
		{Upserts: []fixtureResource{
			{TypeURL: resourcev3.ClusterType, Name: "c0", Value: mustMarshal(t, edsCluster("c0"))},
			{TypeURL: resourcev3.EndpointType, Name: "c0", Value: mustMarshal(t, cla("c0", 8080))},
		}},
		{Upserts: []fixtureResource{{TypeURL: resourcev3.EndpointType, Name: "c0", Value: mustMarshal(t, cla("c0", 8080, 8081))}}},
	}}
}

// The reference server on loopback (gRPC and its control endpoint) and a client connection to it; stop ends all.
func startServer(t *testing.T, fx *fixture, linear, perTypeVersions bool) (context.Context, *grpc.ClientConn, *httptest.Server, func()) {
	t.Helper()
	s, c, err := newServer(fx, linear, perTypeVersions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := newGRPCServer(ctx, c)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(lis)
	ctl := httptest.NewServer(s.controlHandler())
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, conn, ctl, func() {
		conn.Close()
		ctl.Close()
		g.Stop()
		cancel()
	}
}

// One shared snapshot over a real ADS stream: CDS then EDS at step 0, a push of both at step 1, 409 after.
func TestADSStepsAndControl(t *testing.T) {
	for _, linear := range []bool{false, true} {
		fx := twoSteps(t)
		want := map[string][]byte{"step-0": fx.Steps[0].Upserts[1].Value, "step-1": fx.Steps[1].Upserts[0].Value}
		ctx, conn, ctl, stop := startServer(t, fx, linear, false)
		stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recv := func(typeURL string) *discovery.DiscoveryResponse {
			t.Helper()
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if r.TypeUrl != typeURL || len(r.Resources) != 1 {
				t.Fatalf("linear=%v: got %s with %d resources, want one %s", linear, r.TypeUrl, len(r.Resources), typeURL)
			}
			return r
		}
		send := func(req *discovery.DiscoveryRequest) {
			t.Helper()
			if err := stream.Send(req); err != nil {
				t.Fatal(err)
			}
		}
		send(&discovery.DiscoveryRequest{Node: &core.Node{Id: "x", Cluster: "y"}, TypeUrl: resourcev3.ClusterType})
		cds := recv(resourcev3.ClusterType)
		send(&discovery.DiscoveryRequest{TypeUrl: resourcev3.ClusterType, VersionInfo: cds.VersionInfo, ResponseNonce: cds.Nonce})
		send(&discovery.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: []string{"c0"}})
		eds := recv(resourcev3.EndpointType)
		if string(eds.Resources[0].Value) != string(want["step-0"]) {
			t.Fatalf("linear=%v: step-0 EDS bytes differ", linear)
		}
		send(&discovery.DiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNames: []string{"c0"}, VersionInfo: eds.VersionInfo, ResponseNonce: eds.Nonce})

		post := func() (int, map[string]any) {
			resp, err := http.Post(ctl.URL+"/step", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			return resp.StatusCode, body
		}
		if code, body := post(); code != 200 || body["step"] != float64(1) {
			t.Fatalf("POST /step: %d %v", code, body)
		}
		recv(resourcev3.ClusterType) // the snapshot has one version for every type: CDS is resent too, first
		eds = recv(resourcev3.EndpointType)
		if string(eds.Resources[0].Value) != string(want["step-1"]) {
			t.Fatalf("linear=%v: step-1 EDS bytes differ", linear)
		}
		if code, _ := post(); code != http.StatusConflict {
			t.Fatalf("POST /step past the end: %d, want 409", code)
		}
		resp, err := http.Get(ctl.URL + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		var stats map[string]float64
		_ = json.NewDecoder(resp.Body).Decode(&stats)
		resp.Body.Close()
		if stats["rssBytes"] <= 0 || stats["goroutines"] <= 0 {
			t.Fatalf("stats: %v", stats)
		}
		stop()
	}
}

// protobuf-es writes fields in field-number order; Go's marshaller writes set oneof fields last (and sorts map
// keys when deterministic). So go-control-plane re-encodes a protobuf-es Cluster into different bytes of the
// same message. These bytes are a Cluster from protobuf-es (name, type=EDS, eds_config ads, connect_timeout).
func TestProtobufEsBytesAreReordered(t *testing.T) {
	es, _ := base64.StdEncoding.DecodeString("CgJjMBADGgYKBBoAMAIiBwgBEIDlmnc=")
	var c cluster.Cluster
	if err := proto.Unmarshal(es, &c); err != nil {
		t.Fatal(err)
	}
	out, err := cachev3.MarshalResource(&c)
	if err != nil {
		t.Fatal(err)
	}
	var back cluster.Cluster
	if err := proto.Unmarshal(out, &back); err != nil || !proto.Equal(&c, &back) {
		t.Fatalf("round trip changed the message: %v", err)
	}
	if string(out) == string(es) {
		t.Fatal("bytes are identical: go-control-plane no longer reorders oneofs, update the bench notes")
	}
	if got := base64.StdEncoding.EncodeToString(out); got != "CgJjMBoGCgQwAhoAIgcIARCA5Zp3EAM=" {
		t.Fatalf("unexpected Go encoding %s", got)
	}
}

// The same server over DeltaAggregatedResources, in the expert setup (a version per type; EDS from the snapshot
// or from the LinearCache behind the MuxCache): a step that changes one assignment sends that assignment only,
// as a Resource named after it, and no CDS at all.
func TestDeltaADS(t *testing.T) {
	for _, linear := range []bool{false, true} {
		fx := twoSteps(t)
		want := [][]byte{fx.Steps[0].Upserts[1].Value, fx.Steps[1].Upserts[0].Value}
		ctx, conn, ctl, stop := startServer(t, fx, linear, true)
		stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recv := func(typeURL string) *discovery.DeltaDiscoveryResponse {
			t.Helper()
			r, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if r.TypeUrl != typeURL || len(r.Resources) != 1 || r.Resources[0].Name != "c0" {
				t.Fatalf("linear=%v: got %s with %d resources, want one %s named c0", linear, r.TypeUrl, len(r.Resources), typeURL)
			}
			return r
		}
		send := func(req *discovery.DeltaDiscoveryRequest) {
			t.Helper()
			if err := stream.Send(req); err != nil {
				t.Fatal(err)
			}
		}
		send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: "x", Cluster: "y"}, TypeUrl: resourcev3.ClusterType})
		cds := recv(resourcev3.ClusterType)
		send(&discovery.DeltaDiscoveryRequest{TypeUrl: resourcev3.ClusterType, ResponseNonce: cds.Nonce})
		send(&discovery.DeltaDiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResourceNamesSubscribe: []string{"c0"}})
		eds := recv(resourcev3.EndpointType)
		if string(eds.Resources[0].Resource.Value) != string(want[0]) {
			t.Fatalf("linear=%v: step-0 EDS bytes differ", linear)
		}
		send(&discovery.DeltaDiscoveryRequest{TypeUrl: resourcev3.EndpointType, ResponseNonce: eds.Nonce})

		resp, err := http.Post(ctl.URL+"/step", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST /step: %d", resp.StatusCode)
		}
		eds = recv(resourcev3.EndpointType) // not CDS: its resources did not change
		if string(eds.Resources[0].Resource.Value) != string(want[1]) {
			t.Fatalf("linear=%v: step-1 EDS bytes differ", linear)
		}
		stop()
	}
}
