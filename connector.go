// Package connector connects applications to commerce platforms over OAuth 2.
package connector
