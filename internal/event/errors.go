package event

// RecordError says why one record cannot become an event. It is permanent:
// retrying the same bytes gives the same error, so the caller dead-letters the
// record with Reason instead of retrying it.
type RecordError struct{ Reason string }

func (e *RecordError) Error() string { return e.Reason }

func recordErr(reason string) *RecordError { return &RecordError{Reason: reason} }
