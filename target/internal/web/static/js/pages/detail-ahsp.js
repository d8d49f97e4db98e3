/* detail-ahsp page: pending */
