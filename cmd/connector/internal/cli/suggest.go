package cli

import "strings"

// suggest returns the candidate nearest to name when it is near enough to
// be a typo (at most a third of its letters wrong, two at most, or a
// prefix of at least three letters), else "".
func suggest(name string, candidates []string) string {
	name = strings.ToLower(name)
	best, bestD := "", 0
	for _, c := range candidates {
		d := distance(name, strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || name == "" {
		return ""
	}
	limit := min(2, max(1, len(name)/3))
	if bestD <= limit {
		return best
	}
	if len(name) >= 3 {
		for _, c := range candidates {
			if strings.HasPrefix(strings.ToLower(c), name) {
				return c
			}
		}
	}
	return ""
}

// distance is the optimal string alignment distance between a and b: the
// insertions, deletions, substitutions and transpositions of adjacent
// letters that turn one into the other.
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
