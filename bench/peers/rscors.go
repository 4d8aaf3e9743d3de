// A reverse proxy with Go's rs/cors in front, configured like preflight's
// bench policy (bench/conf/preflight.toml.in): a peer of bench/run.sh.
package main

import (
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"

	"github.com/rs/cors"
)

func main() {
	listen, upstream := os.Args[1], os.Args[2]
	target, err := url.Parse(upstream)
	if err != nil {
		log.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	c := cors.New(cors.Options{
		AllowedOrigins:   []string{"https://app.example.com"},
		AllowedMethods:   []string{"GET", "PUT", "DELETE"},
		AllowedHeaders:   []string{"content-type", "authorization"},
		ExposedHeaders:   []string{"x-request-id"},
		AllowCredentials: true,
		MaxAge:           600,
	})
	log.Fatal(http.ListenAndServe(listen, c.Handler(proxy)))
}
