package policy

import "fmt"

func parse[T any](b []byte, limit int, check func(*T) error) (*T, error) {
	v := new(T)
	if err := decodeStrict(b, limit, v); err != nil {
		return nil, err
	}
	if err := check(v); err != nil {
		return nil, err
	}
	return v, nil
}

// ParseTermsDocument parses and validates a terms document (at most MaxTermsDocument bytes).
func ParseTermsDocument(b []byte) (*TermsDocument, error) {
	return parse(b, MaxTermsDocument, (*TermsDocument).Validate)
}

// ParseUserTerms parses and validates user terms.
func ParseUserTerms(b []byte) (*UserTerms, error) { return parse(b, MaxMessage, (*UserTerms).Validate) }

// ParseAgreement parses and validates an agreement.
func ParseAgreement(b []byte) (*Agreement, error) { return parse(b, MaxMessage, (*Agreement).Validate) }

// ParseRecord parses and validates a record's structure; VerifyRecord checks its signatures.
func ParseRecord(b []byte) (*Record, error) { return parse(b, MaxMessage, (*Record).Validate) }

// ParseEvent parses and validates one history event; VerifyChain checks the chain.
func ParseEvent(b []byte) (*Event, error) { return parse(b, MaxMessage, (*Event).Validate) }

// ParseProposal parses and validates a proposal body; VerifyProposal checks its signature.
func ParseProposal(b []byte) (*Proposal, error) { return parse(b, MaxMessage, (*Proposal).Validate) }

// ParseAnswer parses and validates a site's answer to a proposal.
func ParseAnswer(b []byte) (*Answer, error) { return parse(b, MaxMessage, (*Answer).Validate) }

// ParseErrorDocument parses and validates an error document.
func ParseErrorDocument(b []byte) (*ErrorDocument, error) {
	return parse(b, MaxMessage, (*ErrorDocument).Validate)
}

// ParseSignedRequest parses and validates a data-return or end request; VerifyRequest checks it.
func ParseSignedRequest(b []byte) (*SignedRequest, error) {
	return parse(b, MaxMessage, (*SignedRequest).Validate)
}

// ParseDataReturn parses and validates a data return document.
func ParseDataReturn(b []byte) (*DataReturn, error) {
	return parse(b, MaxMessage, (*DataReturn).Validate)
}

// ParseEndAnswer parses and validates a site's answer to an end request.
func ParseEndAnswer(b []byte) (*EndAnswer, error) { return parse(b, MaxMessage, (*EndAnswer).Validate) }

// Validate applies the checks ParseTermsDocument applies: tags, then unique
// offer ids, and a dataReturn endpoint wherever an offer undertakes data return.
func (t *TermsDocument) Validate() error {
	if err := validateStruct(t); err != nil {
		return err
	}
	seen := map[string]int{}
	for i, o := range t.Offers {
		if j, dup := seen[o.ID]; dup {
			return pathErr(fmt.Sprintf("offers[%d].id", i), ErrInvalidValue, fmt.Sprintf("duplicate offer id (also offers[%d])", j))
		}
		seen[o.ID] = i
	}
	if t.Endpoints.DataReturn == "" {
		for i, o := range t.Offers {
			if o.Obligations.DataReturn != LevelNone {
				return pathErr("endpoints.dataReturn", ErrMissing, fmt.Sprintf("is required because offers[%d] undertakes dataReturn %q", i, o.Obligations.DataReturn))
			}
		}
	}
	return nil
}

// Offer returns the offer with the given id, or nil.
func (t *TermsDocument) Offer(id string) *Offer {
	for i := range t.Offers {
		if t.Offers[i].ID == id {
			return &t.Offers[i]
		}
	}
	return nil
}

// Validate applies the checks ParseUserTerms applies.
func (u *UserTerms) Validate() error { return validateStruct(u) }

// Validate applies the checks ParseAgreement applies.
func (a *Agreement) Validate() error { return validateStruct(a) }

// Validate applies the checks ParseRecord applies (not the signatures).
func (r *Record) Validate() error { return validateStruct(r) }

// Validate applies the checks ParseEvent applies: tags, and prev empty exactly for seq 0.
func (e *Event) Validate() error {
	if err := validateStruct(e); err != nil {
		return err
	}
	if e.Seq == 0 && e.Prev != "" {
		return pathErr("prev", ErrInvalidValue, "must be empty for the first event (seq 0)")
	}
	if e.Seq > 0 && e.Prev == "" {
		return pathErr("prev", ErrMissing, "is required after the first event")
	}
	return nil
}

// Validate applies the checks ParseProposal applies (not the signature).
func (p *Proposal) Validate() error { return validateStruct(p) }

// Validate applies the checks ParseAnswer applies: tags, and exactly the
// members its status calls for.
func (a *Answer) Validate() error {
	if err := validateStruct(a); err != nil {
		return err
	}
	switch a.Status {
	case StatusAccepted:
		if a.Record == nil {
			return pathErr("record", ErrMissing, "is required when status is "+StatusAccepted)
		}
		if a.CounterOffer != "" || len(a.Conflicts) > 0 {
			return pathErr("", ErrInvalidValue, "an accepted answer carries only a record")
		}
	case StatusCounterOffer:
		if a.CounterOffer == "" {
			return pathErr("counterOffer", ErrMissing, "is required when status is "+StatusCounterOffer)
		}
		if a.Record != nil || len(a.Conflicts) > 0 {
			return pathErr("", ErrInvalidValue, "a counter-offer carries only counterOffer and reason")
		}
	case StatusRefused:
		if a.Record != nil || a.CounterOffer != "" {
			return pathErr("", ErrInvalidValue, "a refusal carries only reason and conflicts")
		}
	}
	return nil
}

// Validate applies the checks ParseErrorDocument applies.
func (e *ErrorDocument) Validate() error { return validateStruct(e) }

// Validate applies the checks ParseSignedRequest applies (not the
// signature): details are present exactly in a details request.
func (r *SignedRequest) Validate() error {
	if err := validateStruct(r); err != nil {
		return err
	}
	switch {
	case r.Type == RequestDetails && r.Details == nil:
		return pathErr("details", ErrMissing, "is required in a details request")
	case r.Type != RequestDetails && r.Details != nil:
		return pathErr("details", ErrInvalidValue, "is allowed only in a details request")
	case r.Details != nil:
		if err := r.Details.Validate(); err != nil {
			if pe, ok := err.(*ParseError); ok {
				return &ParseError{Path: joinPath("details", pe.Path), Err: pe.Err}
			}
			return err
		}
		if len(r.Details.Fields()) == 0 {
			return pathErr("details", ErrMissing, "must carry at least one detail")
		}
	}
	return nil
}

// Validate applies the checks ParseDataReturn applies.
func (d *DataReturn) Validate() error { return validateStruct(d) }

// Validate applies the checks ParseEndAnswer applies.
func (e *EndAnswer) Validate() error { return validateStruct(e) }
