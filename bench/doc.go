// Package bench is the harness behind `make bench`: it drives the real
// r-button host (bin/rbutton) over native-messaging frames (host/framing),
// next to a minimal echo host speaking the same framing (bench/echohost),
// and reduces repeated, interleaved samples to medians and ratios.
//
// Machines that run it are shared and noisy, so every figure is measured
// against a baseline in the same run, the two are interleaved, and the
// reported value is the median over several runs.
package bench
