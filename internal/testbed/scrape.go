package testbed

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Scrape reads the /metrics of the admin endpoint at admin (host:port).
func Scrape(ctx context.Context, client *http.Client, admin string) (Series, error) {
	var s Series
	err := scrape(ctx, client, admin, func(body io.Reader) (err error) {
		s, err = ParseMetrics(body)
		return err
	})
	return s, err
}

// scrape GETs admin's /metrics and hands the body to parse.
func scrape(ctx context.Context, client *http.Client, admin string, parse func(io.Reader) error) error {
	url := "http://" + admin + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if err := parse(resp.Body); err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	return nil
}
