// Times Porcupine (github.com/anishathalye/porcupine) on the register histories that
// bench/checker-compare.ts exports from simulator runs, with the same register model as
// sim/checkers/linearizability.ts and partitioned by key. Reads the JSON file named by the first
// argument; prints one JSON line per history: its name, Porcupine's verdict and the median
// wall time of -reps checks in milliseconds.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

type exportedOp struct {
	Key      string `json:"key"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Outcome  string `json:"outcome"`
	CallNs   int64  `json:"callNs"`
	ReturnNs int64  `json:"returnNs"` // -1: the outcome is unknown (the op never returned)
}

type exportedHistory struct {
	Name    string       `json:"name"`
	Initial string       `json:"initial"`
	Ops     []exportedOp `json:"ops"`
}

type input struct {
	key, kind, value, expected string
}

type output struct {
	outcome, observed string
}

func registerModel(initial string) porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			keys := []string{}
			for _, op := range history {
				k := op.Input.(input).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			parts := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, byKey[k])
			}
			return parts
		},
		Init: func() interface{} { return initial },
		Step: func(state, in, out interface{}) (bool, interface{}) {
			s, i, o := state.(string), in.(input), out.(output)
			switch i.kind {
			case "write":
				return true, i.value
			case "read":
				return o.observed == s, s
			case "cas":
				switch o.outcome {
				case "ok":
					return s == i.expected, i.value
				case "fail":
					return s != i.expected, s
				default: // unknown: applied with whatever it found
					if s == i.expected {
						return true, i.value
					}
					return true, s
				}
			}
			return false, s
		},
	}
}

func operations(h exportedHistory) []porcupine.Operation {
	ops := make([]porcupine.Operation, 0, len(h.Ops))
	for _, e := range h.Ops {
		ret := e.ReturnNs
		if ret < 0 {
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{
			Input:  input{e.Key, e.Kind, e.Value, e.Expected},
			Call:   e.CallNs,
			Output: output{e.Outcome, e.Observed},
			Return: ret,
		})
	}
	return ops
}

func main() {
	reps := flag.Int("reps", 5, "checks per history (the median is printed)")
	timeout := flag.Duration("timeout", time.Minute, "per check")
	flag.Parse()
	raw, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var histories []exportedHistory
	if err := json.Unmarshal(raw, &histories); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, h := range histories {
		model, ops := registerModel(h.Initial), operations(h)
		times := make([]float64, 0, *reps)
		var verdict porcupine.CheckResult
		for r := 0; r < *reps; r++ {
			start := time.Now()
			verdict = porcupine.CheckOperationsTimeout(model, ops, *timeout)
			times = append(times, float64(time.Since(start).Nanoseconds())/1e6)
		}
		sort.Float64s(times)
		line, _ := json.Marshal(map[string]interface{}{"name": h.Name, "verdict": string(verdict), "medianMs": times[len(times)/2]})
		fmt.Println(string(line))
	}
}
