package main

import (
	"fmt"
	"time"

	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// complianceCount is what `rbutton show` says of the compliance watch
// (PROTOCOL.md 12.1): the discrepancies recorded in a site's history, under
// the agreement in force and in all.
type complianceCount struct {
	Agreement int           `json:"agreement"`
	Total     int           `json:"total"`
	Last      *policy.Event `json:"last"`
}

// countCompliance counts the compliance events of history; recordID is the
// agreement in force ("" when none).
func countCompliance(history []policy.Event, recordID string) complianceCount {
	var c complianceCount
	for i, e := range history {
		if e.Type != policy.EventCompliance {
			continue
		}
		c.Total++
		if recordID != "" && e.Agreement == recordID {
			c.Agreement++
		}
		c.Last = &history[i]
	}
	return c
}

// shownRelationship is `rbutton show --json`: the stored relationship and
// the compliance count.
type shownRelationship struct {
	*store.Relationship
	Compliance complianceCount `json:"compliance"`
}

func showCompliance(c complianceCount, site string) {
	switch {
	case c.Total == 0:
		fmt.Printf("compliance: nothing seen that the agreement does not allow\n")
	default:
		fmt.Printf("compliance: %d discrepancy(ies) recorded under this agreement, %d in all; last %s: %s ('rbutton history %s' lists them)\n",
			c.Agreement, c.Total, c.Last.Time.Local().Format(time.DateTime), c.Last.Detail, site)
	}
}
