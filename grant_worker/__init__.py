"""The seatgate grant worker: grants, revokes, seat cap, sweeper, admin API."""
