/*
 * country.h: ISO 3166-1 alpha-2 country codes and their names in the
 * page languages (ja, en), for the attribution of attacks (README,
 * "Attribution and abuse reports"). Pure, const data.
 */
#ifndef COUNTRY_H
#define COUNTRY_H

#include <stdbool.h>

/*
 * The name of the country with code cc (two letters, any case) in the
 * language lang ("ja" or "en"; anything else gets English). An unknown
 * code, or an unknown language's missing name, gives the code itself
 * (cc, as passed); NULL or "" gives "".
 */
const char *country_name(const char *cc, const char *lang);

/* True when cc is in the table. */
bool country_is_known(const char *cc);

#endif
