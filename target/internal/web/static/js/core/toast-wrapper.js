/* toast-wrapper: pending */
