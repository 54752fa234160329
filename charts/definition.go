package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Type says how a chart's series share a category.
type Type string

// The chart types.
const (
	Grouped Type = "grouped" // series side by side
	Stacked Type = "stacked" // series stacked on each other
	Percent Type = "percent" // stacked, each category normalised to 100 %
)

// Agg is how the samples of one bar are folded into its value.
type Agg string

// The aggregations.
const (
	Sum   Agg = "sum"
	Count Agg = "count"
	Avg   Agg = "avg"
	Min   Agg = "min"
	Max   Agg = "max"
	Last  Agg = "last"
	Rate  Agg = "rate" // the sum per second over the window (or the bucket)
)

// TimeAxis is the value of Chart.X that puts time buckets on the category axis.
const TimeAxis = "time"

// BucketBound is the tag that carries a histogram bucket's upper bound, as
// ingest writes the buckets of a Prometheus histogram (NAME_bucket with
// le="0.5", …, le="+Inf") and as other histogram sources are to. A chart
// with this x draws a distribution: its categories sort as numbers by
// default, and Chart.Histogram says how its samples count.
const BucketBound = "le"

// The values of Chart.Histogram: how the samples of an x: le chart count
// their bucket. Either way each bar shows the count of its own bucket.
const (
	// HistogramPerBucket: a sample counts the observations in its bucket
	// alone (the bucket below excluded); bars are the values as
	// aggregated. The default.
	HistogramPerBucket = "per_bucket"
	// HistogramCumulative: a sample counts every observation at or below its
	// le, as Prometheus NAME_bucket series do. Each bar is its value as
	// aggregated minus the value of the next lower le of the same series.
	HistogramCumulative = "cumulative"
)

// Other is the category (and series) into which everything past a chart's
// top N, or past its cardinality limit, is folded.
const Other = "other"

// Duration is a time.Duration written as "10s", "5m" in YAML and JSON.
type Duration time.Duration

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (expected e.g. 10s, 5m, 1h)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go formats it ("5m0s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Threshold is a horizontal (or vertical, on a horizontal chart) mark line,
// drawn with its label and its value in the chart's number format
// ("SLO · 250 ms").
type Threshold struct {
	Value float64 `json:"value" yaml:"value"`
	Label string  `json:"label,omitempty" yaml:"label,omitempty"`
	Color string  `json:"color,omitempty" yaml:"color,omitempty"`
}

// Chart is the definition of one bar chart. The zero values of optional
// fields are filled by Normalize.
type Chart struct {
	ID         string            `json:"id" yaml:"id"`
	Title      string            `json:"title,omitempty" yaml:"title,omitempty"`
	Type       Type              `json:"type,omitempty" yaml:"type,omitempty"`
	Horizontal bool              `json:"horizontal,omitempty" yaml:"horizontal,omitempty"`
	Metric     string            `json:"metric,omitempty" yaml:"metric,omitempty"`
	Field      string            `json:"field,omitempty" yaml:"field,omitempty"`
	Where      map[string]string `json:"where,omitempty" yaml:"where,omitempty"`
	X          string            `json:"x,omitempty" yaml:"x,omitempty"`
	Bucket     Duration          `json:"bucket,omitempty" yaml:"bucket,omitempty"`
	Series     string            `json:"series,omitempty" yaml:"series,omitempty"`
	Agg        Agg               `json:"agg,omitempty" yaml:"agg,omitempty"`
	Window     Duration          `json:"window,omitempty" yaml:"window,omitempty"`
	Top        int               `json:"top,omitempty" yaml:"top,omitempty"`
	Sort       string            `json:"sort,omitempty" yaml:"sort,omitempty"`
	Histogram  string            `json:"histogram,omitempty" yaml:"histogram,omitempty"`
	Unit       string            `json:"unit,omitempty" yaml:"unit,omitempty"`
	// Format says how numbers are written with the unit (see Format);
	// omitted when zero, so definitions without one keep their Version.
	Format     Format      `json:"format,omitzero" yaml:"format,omitempty"`
	Thresholds []Threshold `json:"thresholds,omitempty" yaml:"thresholds,omitempty"`
	Width      int         `json:"width,omitempty" yaml:"width,omitempty"`   // grid columns spanned on a page, 1..3; 0: one
	Height     int         `json:"height,omitempty" yaml:"height,omitempty"` // the chart's height on a page in CSS px; 0: the page's default
}

// Lookback is how far back in time the chart's data reaches: its window (a
// time axis without one shows 60 buckets), or 0 when it has no bound (tag
// categories without a window show everything since the start). A chart
// without a metric reads no samples: 0.
func (c Chart) Lookback() time.Duration {
	if c.Metric == "" {
		return 0
	}
	if c.Window != 0 {
		return time.Duration(c.Window)
	}
	if c.X == TimeAxis {
		return 60 * time.Duration(c.Bucket)
	}
	return 0
}

// Dashboard is an ordered grid of charts.
type Dashboard struct {
	ID     string  `json:"id" yaml:"id"`
	Title  string  `json:"title,omitempty" yaml:"title,omitempty"`
	Charts []Chart `json:"charts" yaml:"charts"`
	// Variables are tag keys a viewer chooses a value of (variables.go).
	Variables []Variable `json:"variables,omitempty" yaml:"variables,omitempty"`
}

// Version names the content of d: two dashboards have the same version
// exactly when their definitions are the same, on any node. A page records
// the version it was drawn from and redraws when the stream announces
// another.
func (d *Dashboard) Version() string {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("charts: a dashboard definition does not encode: %v", err)) // only plain data types
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// DashboardTopic is the stream topic that announces the definition of
// dashboard id. Chart topics are chart ids, which cannot contain '@'.
func DashboardTopic(id string) string { return "@dashboard:" + id }

// Limits a definition is checked against. Each bounds a cost that one
// request could otherwise make as large as it liked (issue 13: 3,000
// one-second time charts in one PUT of 330 KB took the process to 2.2 GB
// and 1.7 cores). They are constants, not settings: CheckDashboard, the
// API and the config loader must all agree with the board, and no real
// wall board comes near them.
//
// Worst case: MaxCharts charts, each at MaxChartCells cells, every cell
// filled, hold about 1 GB of heap (2 MB a chart: the 24-byte accumulators
// of its window in their maps, and its current frame, decoded and encoded;
// measured by BenchmarkWorstCaseCatalog, docs/BENCHMARKS.md). Deleting
// them gives it back.
const (
	// MaxBuckets is the most time buckets one chart may show (window / bucket).
	MaxBuckets = 1440
	// MaxTop is the largest top N.
	MaxTop = 500
	// MaxCategories and MaxSeries are the most distinct categories and
	// series one chart tracks (what is past them folds into Other).
	// Config.Limits may lower them, never raise them.
	MaxCategories = 500
	MaxSeries     = 50
	// MaxChartCells is the most cells (categories × series) one chart may
	// hold: what its definition may ask for (a time axis has window/bucket
	// categories, a tag axis up to MaxCategories; a series key means up to
	// MaxSeries series, none means one), what a push chart's data may set,
	// and the accumulators a view keeps over all the slots of its window.
	MaxChartCells = 25_000
	// MaxChartsPerDashboard is the most charts on one dashboard.
	MaxChartsPerDashboard = 100
	// MaxDashboards is the most dashboards on a board.
	MaxDashboards = 500
	// MaxCharts is the most charts (views) on a board, all dashboards
	// together.
	MaxCharts = 500
)

// A tag axis with a series key asks for MaxCategories × MaxSeries cells:
// that must fit in MaxChartCells (this fails to compile otherwise).
const _ = uint(MaxChartCells - MaxCategories*MaxSeries)

// The sort orders of a chart's categories.
const (
	SortName  = "name"  // by category name, ascending (time: oldest first)
	SortValue = "value" // by the category's total, largest first
	// SortNumeric orders categories as numbers, ascending ("0.005" before
	// "0.01" before "1e1" before "+Inf"); equal numbers by name, then the
	// categories that are not numbers (NaN among them) by name. The
	// default with x: le.
	SortNumeric = "numeric"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// FieldError says which field of a definition is wrong and what was expected.
// Field is a path such as "charts[2].agg".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Normalize fills the defaults of c: type grouped, field "value", agg sum,
// sort by name (numeric with x: le, whose buckets then count per bucket),
// and a window of 60 buckets on a time axis.
func (c *Chart) Normalize() {
	if c.Type == "" {
		c.Type = Grouped
	}
	if c.Metric != "" && c.Field == "" {
		c.Field = "value"
	}
	if c.Agg == "" {
		c.Agg = Sum
	}
	if c.Metric != "" && c.X == BucketBound {
		if c.Sort == "" {
			c.Sort = SortNumeric
		}
		if c.Histogram == "" {
			c.Histogram = HistogramPerBucket
		}
	}
	if c.Sort == "" {
		c.Sort = SortName
	}
	if c.X == TimeAxis && c.Window == 0 && c.Bucket > 0 {
		c.Window = Duration(60 * time.Duration(c.Bucket))
	}
	if c.Title == "" {
		c.Title = c.ID
	}
}

// Validate checks a normalized chart and returns every problem it finds as
// *FieldError values joined with errors.Join, or nil.
func (c *Chart) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !idPattern.MatchString(c.ID) {
		bad("id", "%q is not a valid id (expected 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit)", c.ID)
	}
	switch c.Type {
	case Grouped, Stacked, Percent:
	default:
		bad("type", "%q is not a chart type (expected grouped, stacked or percent)", c.Type)
	}
	switch c.Agg {
	case Sum, Count, Avg, Min, Max, Last, Rate:
	default:
		bad("agg", "%q is not an aggregation (expected sum, count, avg, min, max, last or rate)", c.Agg)
	}
	switch c.Sort {
	case SortName, SortValue, SortNumeric:
	default:
		bad("sort", "%q is not a sort order (expected name, value or numeric)", c.Sort)
	}
	if c.Top < 0 || c.Top > MaxTop {
		bad("top", "%d is out of range (expected 0 to %d; 0 shows every category)", c.Top, MaxTop)
	}
	if c.Window < 0 {
		bad("window", "must not be negative")
	}
	c.validateFormat(bad)
	// Its place on a page: a page's grid has at most maxWidth columns (a
	// chart wider than the columns the screen allows spans them all).
	const maxWidth, minHeight, maxHeight = 3, 120, 2000
	if c.Width < 0 || c.Width > maxWidth {
		bad("width", "%d is out of range (expected 1 to %d grid columns; 0 or none is one)", c.Width, maxWidth)
	}
	if c.Height != 0 && (c.Height < minHeight || c.Height > maxHeight) {
		bad("height", "%d is out of range (expected %d to %d CSS pixels; 0 or none is the page's default)", c.Height, minHeight, maxHeight)
	}
	if c.Metric == "" {
		// A push chart: its data is set through the API, so nothing that
		// reads samples may be set.
		for field, set := range map[string]bool{"x": c.X != "", "series": c.Series != "", "where": len(c.Where) > 0, "bucket": c.Bucket != 0, "window": c.Window != 0, "histogram": c.Histogram != ""} {
			if set {
				bad(field, "is set, but the chart has no metric (a chart without a metric is a push chart, fed through PUT /api/v1/charts/%s/data)", c.ID)
			}
		}
		return errors.Join(errs...)
	}
	if c.X == "" {
		bad("x", "is missing (expected a tag key for the categories, or %q with a bucket)", TimeAxis)
	}
	if c.X == TimeAxis {
		switch {
		case c.Bucket <= 0:
			bad("bucket", "is missing (x is %q, so a bucket such as 10s is expected)", TimeAxis)
		case time.Duration(c.Bucket)%time.Second != 0:
			bad("bucket", "%s is not a whole number of seconds (expected e.g. 1s, 10s, 1m)", time.Duration(c.Bucket))
		case c.Window < c.Bucket:
			bad("window", "%s is shorter than the bucket %s", time.Duration(c.Window), time.Duration(c.Bucket))
		case int64(c.Window)/int64(c.Bucket) > MaxBuckets:
			bad("window", "%s / bucket %s is %d bars (at most %d)", time.Duration(c.Window), time.Duration(c.Bucket), int64(c.Window)/int64(c.Bucket), MaxBuckets)
		}
		if c.Sort == SortValue || c.Sort == SortNumeric {
			bad("sort", "%s is not possible on a time axis (expected name)", c.Sort)
		}
	} else if c.Bucket != 0 {
		bad("bucket", "is only meaningful with x: %s", TimeAxis)
	}
	if cells := c.Cells(); cells > MaxChartCells {
		categories := fmt.Sprintf("window %s / bucket %s is %d bars", time.Duration(c.Window), time.Duration(c.Bucket), cells/c.seriesCap())
		bad("window", "%s × up to %d series (series: %s) = %d cells, at most %d per chart (expected a longer bucket, a shorter window or no series)", categories, c.seriesCap(), c.Series, cells, MaxChartCells)
	}
	switch {
	case c.Histogram == "":
	case c.X != BucketBound:
		bad("histogram", "is only meaningful with x: %s (the bucket bound of a histogram)", BucketBound)
	case c.Histogram != HistogramPerBucket && c.Histogram != HistogramCumulative:
		bad("histogram", "%q is not how a histogram counts (expected %s or %s)", c.Histogram, HistogramPerBucket, HistogramCumulative)
	case c.Histogram == HistogramCumulative && c.Agg == Count:
		bad("agg", "count counts samples, whose differences between buckets mean nothing (histogram: %s expects sum, avg, min, max, last or rate)", HistogramCumulative)
	}
	if c.Series != "" && c.Series == c.X {
		bad("series", "%q is also the x key (expected another tag key, or none)", c.Series)
	}
	if c.Agg == Rate && c.X != TimeAxis && c.Window == 0 {
		bad("window", "is missing (agg rate is a sum per second over the window)")
	}
	return errors.Join(errs...)
}

// Cells is the most cells (categories × series) the chart can show, as its
// definition bounds them: a time axis has window/bucket categories, a tag
// axis up to MaxCategories; a series key means up to MaxSeries series, none
// means one. A push chart asks for none: its data is checked when it is set.
// Validate refuses more than MaxChartCells; a chart whose window or bucket
// is itself invalid counts 0.
func (c Chart) Cells() int {
	if c.Metric == "" {
		return 0
	}
	categories := MaxCategories
	if c.X == TimeAxis {
		if c.Bucket <= 0 || c.Window < c.Bucket || int64(c.Window)/int64(c.Bucket) > MaxBuckets {
			return 0 // refused for its window or bucket
		}
		categories = int(int64(c.Window) / int64(c.Bucket))
	}
	return categories * c.seriesCap()
}

func (c Chart) seriesCap() int {
	if c.Series == "" {
		return 1
	}
	return MaxSeries
}

// Check normalizes every chart of d and validates the dashboard. Chart ids
// must be unique within d; uniqueness across dashboards is the board's to
// check. Errors name fields as "charts[2].agg".
func (d *Dashboard) Check() error {
	var errs []error
	if !idPattern.MatchString(d.ID) {
		errs = append(errs, &FieldError{Field: "id", Message: fmt.Sprintf("%q is not a valid id (expected 1-64 letters, digits, '_', '.' or '-')", d.ID)})
	}
	if d.Title == "" {
		d.Title = d.ID
	}
	if len(d.Charts) > MaxChartsPerDashboard {
		// The charts themselves are not looked at: a refused dashboard of
		// thousands would otherwise cost thousands of errors.
		errs = append(errs, &FieldError{Field: "charts", Message: fmt.Sprintf("%d charts, at most %d per dashboard", len(d.Charts), MaxChartsPerDashboard)})
		return errors.Join(errs...)
	}
	seen := make(map[string]int, len(d.Charts))
	for i := range d.Charts {
		c := &d.Charts[i]
		c.Normalize()
		if err := c.Validate(); err != nil {
			errs = append(errs, prefixFieldErrors(fmt.Sprintf("charts[%d].", i), err))
		}
		if j, dup := seen[c.ID]; dup {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("charts[%d].id", i), Message: fmt.Sprintf("%q is already the id of charts[%d]", c.ID, j)})
		}
		seen[c.ID] = i
	}
	errs = append(errs, d.checkVariables()...)
	return errors.Join(errs...)
}

// leaves returns the errors of the tree err, errors.Join's included, that
// join no others, in order.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// prefixFieldErrors puts prefix before the Field of every *FieldError in err.
func prefixFieldErrors(prefix string, err error) error {
	var out []error
	for _, e := range leaves(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, &FieldError{Field: prefix + fe.Field, Message: fe.Message})
		} else {
			out = append(out, fmt.Errorf("%s%w", strings.TrimSuffix(prefix, "."), e))
		}
	}
	return errors.Join(out...)
}

// FieldErrors flattens err into its *FieldError values, for callers that
// report every problem at once (the config loader, the API).
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	for _, e := range leaves(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	return out
}
