package connector

// AppendTokenJSON exposes appendTokenJSON to the external tests.
var AppendTokenJSON = appendTokenJSON
