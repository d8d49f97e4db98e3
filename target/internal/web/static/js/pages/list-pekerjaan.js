/* list-pekerjaan page: pending */
