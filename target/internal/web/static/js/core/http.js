/* http: pending */
