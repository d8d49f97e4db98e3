/* rekap page: pending */
