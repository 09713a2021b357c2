// rtsp-relay: a small multi-path RTSP server for ActionStream's tests and demo.
//
// Publishers (ffmpeg, any RTSP encoder) ANNOUNCE/RECORD a stream on a path such as /site-a/cam1; readers
// (the camera adapter, VLC, any IP-camera client) DESCRIBE/SETUP/PLAY the same path, as they would an IP
// camera. A path without a publisher answers 404; when its publisher leaves, its readers are disconnected,
// exactly what a camera going offline looks like to a client.
package main

import (
	"flag"
	"log"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

type publication struct {
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
}

type relay struct {
	server *gortsplib.Server
	mutex  sync.Mutex
	paths  map[string]*publication
}

func (r *relay) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	log.Printf("conn opened from %v", ctx.Conn.NetConn().RemoteAddr())
}

func (r *relay) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	log.Printf("conn closed (%v)", ctx.Error)
}

// OnSessionClose ends a publication when its publisher leaves, which disconnects every reader of it.
func (r *relay) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	r.mutex.Lock()
	defer r.mutex.Unlock()
	for path, pub := range r.paths {
		if pub.publisher == ctx.Session {
			pub.stream.Close()
			delete(r.paths, path)
			log.Printf("publisher left %s", path)
		}
	}
}

func (r *relay) lookup(path string) (*base.Response, *gortsplib.ServerStream, error) {
	r.mutex.Lock()
	defer r.mutex.Unlock()
	pub, ok := r.paths[path]
	if !ok {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, pub.stream, nil
}

func (r *relay) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return r.lookup(ctx.Path)
}

// OnAnnounce starts a publication; a new publisher on a busy path replaces the old one.
func (r *relay) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	r.mutex.Lock()
	defer r.mutex.Unlock()
	if old, ok := r.paths[ctx.Path]; ok {
		old.stream.Close()
		old.publisher.Close()
	}
	r.paths[ctx.Path] = &publication{
		stream:    gortsplib.NewServerStream(r.server, ctx.Description),
		publisher: ctx.Session,
	}
	log.Printf("publisher on %s", ctx.Path)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (r *relay) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	// A publisher's SETUP comes after its ANNOUNCE and carries no stream of its own.
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	return r.lookup(ctx.Path)
}

func (r *relay) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	log.Printf("reader on %s", ctx.Path)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (r *relay) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	r.mutex.Lock()
	pub, ok := r.paths[ctx.Path]
	r.mutex.Unlock()
	if !ok {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		pub.stream.WritePacketRTP(medi, pkt) //nolint:errcheck // a slow reader must not stop the publisher
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func main() {
	address := flag.String("address", "127.0.0.1:8554", "RTSP listen address (TCP transport)")
	readTimeout := flag.Duration("read-timeout", 10*time.Second, "drop a silent client after this long")
	flag.Parse()

	r := &relay{paths: map[string]*publication{}}
	r.server = &gortsplib.Server{
		Handler:        r,
		RTSPAddress:    *address,
		ReadTimeout:    *readTimeout,
		WriteQueueSize: 4096,
	}
	if err := r.server.Start(); err != nil {
		log.Fatalf("cannot listen on %s: %v", *address, err)
	}
	log.Printf("rtsp-relay ready on %s", *address)
	log.Fatal(r.server.Wait())
}
