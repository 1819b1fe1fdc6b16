package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the q-quantile (0 ≤ q ≤ 1) of samples by the
// nearest-rank method. It returns 0 for no samples; samples is not modified.
func Percentile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return nearestRank(s, q)
}

func nearestRank(sorted []time.Duration, q float64) time.Duration {
	q = min(max(q, 0), 1)
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Summary condenses one run of latency samples.
type Summary struct {
	N     int
	P50   time.Duration
	P99   time.Duration
	Mean  time.Duration
	Total time.Duration
}

// Summarize returns the summary of samples.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var total time.Duration
	for _, d := range s {
		total += d
	}
	return Summary{
		N:     len(s),
		P50:   nearestRank(s, 0.50),
		P99:   nearestRank(s, 0.99),
		Mean:  total / time.Duration(len(s)),
		Total: total,
	}
}

// PerSecond is the rate of a closed loop that spent total on n operations.
func (s Summary) PerSecond() float64 {
	if s.Total <= 0 {
		return 0
	}
	return float64(s.N) / s.Total.Seconds()
}

// Median returns the median of xs (the mean of the middle two for an
// even count), or NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianDuration is Median over durations.
func MedianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(Median(xs))
}

// Ratio returns a/b, or NaN when b is zero.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
