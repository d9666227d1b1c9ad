package postgres

// MaxConns is the size of the store's pool, for tests.
func (s *Store) MaxConns() int32 { return s.pool.Config().MaxConns }
