/* volume page: pending */
