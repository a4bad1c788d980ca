DO $$
BEGIN
    ALTER FUNCTION pg_catalog.textlike(text, text) NOT LEAKPROOF;
    ALTER FUNCTION similarity_op(text, text) NOT LEAKPROOF;
    ALTER FUNCTION similarity_dist(text, text) NOT LEAKPROOF;
EXCEPTION
    WHEN insufficient_privilege THEN NULL;
END
$$;
