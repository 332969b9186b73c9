package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// stateColors are the chart's colours, one per state (the page's badges
// use the same ones, in style.css).
var stateColors = map[string]string{
	StateReady:        "#2f9e44",
	StateProvisioning: "#1c7ed6",
	StatePending:      "#74c0fc",
	StateHibernated:   "#868e96",
	StateFailed:       "#e03131",
	StateInvalid:      "#f08c00",
	StateSuspended:    "#ae3ec9",
	StateDeleting:     "#495057",
	StateUnknown:      "#ced4da",
}

type chartKey struct {
	status string
	day    time.Time
}

// chart draws the fleet by state over the history window as stacked bars,
// one per day. Only fixed strings and numbers reach the SVG.
func (d *Dashboard) chart(ctx context.Context) ([]byte, error) {
	f, err := d.fleet(ctx)
	if err != nil {
		return nil, err
	}
	now := d.now()
	key := chartKey{f.status, now.UTC().Truncate(time.Hour)}
	if v, ok := d.charts.Get(key); ok {
		return v.([]byte), nil
	}
	var days []Day
	if f.status != "" {
		h, err := d.history(ctx, f.status)
		if err != nil {
			return nil, err
		}
		days = h.daily(f.statusStates, now, d.days)
	}
	out := drawChart(days)
	d.charts.Add(key, out)
	return out, nil
}

// Days returns the fleet by state at the end of each day of the history
// window, oldest first (for tests and tools).
func (d *Dashboard) Days(ctx context.Context) ([]Day, error) {
	f, err := d.fleet(ctx)
	if err != nil {
		return nil, err
	}
	if f.status == "" {
		return nil, nil
	}
	h, err := d.history(ctx, f.status)
	if err != nil {
		return nil, err
	}
	return h.daily(f.statusStates, d.now(), d.days), nil
}

func drawChart(days []Day) []byte {
	const (
		width, height = 900, 260
		left, right   = 48, 140
		top, bottom   = 16, 36
	)
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	peak := 0
	for _, day := range days {
		n := 0
		for _, c := range day.Counts {
			n += c
		}
		peak = max(peak, n)
	}
	scale := niceCeil(peak)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="t">`, width, height, width, height)
	fmt.Fprintf(&b, `<title id="t">Environments by state, last %d days</title>`, len(days))
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>`)
	for i := 0; i <= 4; i++ {
		y := float64(top) + plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e9ecef"/>`, left, width-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-family="sans-serif" font-size="11" fill="#495057" text-anchor="end">%d</text>`, left-6, y+4, scale*(4-i)/4)
	}
	if len(days) > 0 {
		barW := plotW / float64(len(days))
		for i, day := range days {
			x := float64(left) + barW*float64(i)
			y := float64(top) + plotH
			for _, s := range States {
				n := day.Counts[s]
				if n == 0 {
					continue
				}
				h := plotH * float64(n) / float64(scale)
				y -= h
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`, x+1, y, max(barW-2, 1), h, stateColors[s], day.Date.Format("Jan 2"), s, n)
			}
			if i%5 == len(days)%5 || i == len(days)-1 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-family="sans-serif" font-size="11" fill="#495057" text-anchor="middle">%s</text>`, x+barW/2, height-bottom+16, day.Date.Format("Jan 2"))
			}
		}
	} else {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-family="sans-serif" font-size="13" fill="#495057">No status recorded yet.</text>`, left+10, top+30)
	}
	ly := top
	for _, s := range States {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-family="sans-serif" font-size="12" fill="#212529">%s</text>`, width-right+16, ly, stateColors[s], width-right+34, ly+11, s)
		ly += 20
	}
	b.WriteString(`</svg>`)
	return []byte(b.String())
}

// niceCeil rounds a count up to 4 steps of 1, 2 or 5 times a power of
// ten, so the axis reads in round numbers.
func niceCeil(n int) int {
	for base := 1; ; base *= 10 {
		for _, m := range []int{1, 2, 5} {
			if step := base * m; step*4 >= n {
				return step * 4
			}
		}
	}
}

func (d *Dashboard) serveChart(w http.ResponseWriter, r *http.Request) {
	svg, err := d.chart(r.Context())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(svg)
}
