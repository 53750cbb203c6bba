// Where simulated sites live: real cities (public geographic facts, rounded to ~0.01°) grouped into
// cloud-style regions. Regions: us-east (eastern and central US), us-west (mountain and pacific
// US), ca, sa (Latin America, Mexico included), eu-west, eu-central (with southern and south-eastern
// Europe), eu-north, me (Middle East, Istanbul included), af, ap-south, ap-southeast, ap-northeast,
// oc (Oceania).

export const REGIONS = [
  'us-east',
  'us-west',
  'ca',
  'sa',
  'eu-west',
  'eu-central',
  'eu-north',
  'me',
  'af',
  'ap-south',
  'ap-southeast',
  'ap-northeast',
  'oc',
] as const;
export type Region = (typeof REGIONS)[number];

export interface City {
  name: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  region: Region;
  lat: number;
  lon: number;
}

/** A simulated site: a unique name and the place it runs. */
export interface SiteLocation {
  /** Site name (a member id): the city's slug, with "-2", "-3"… for further sites in one city. */
  name: string;
  city: string;
  country: string;
  region: Region;
  lat: number;
  lon: number;
}

type Row = [name: string, country: string, lat: number, lon: number];

const TABLE: Record<Region, Row[]> = {
  'us-east': [
    ['New York', 'US', 40.71, -74.01],
    ['Washington', 'US', 38.91, -77.04],
    ['Ashburn', 'US', 39.04, -77.49],
    ['Boston', 'US', 42.36, -71.06],
    ['Philadelphia', 'US', 39.95, -75.17],
    ['Atlanta', 'US', 33.75, -84.39],
    ['Miami', 'US', 25.76, -80.19],
    ['Chicago', 'US', 41.88, -87.63],
    ['Columbus', 'US', 39.96, -83.0],
    ['Charlotte', 'US', 35.23, -80.84],
    ['Detroit', 'US', 42.33, -83.05],
    ['Dallas', 'US', 32.78, -96.8],
    ['Houston', 'US', 29.76, -95.37],
    ['Nashville', 'US', 36.16, -86.78],
    ['Minneapolis', 'US', 44.98, -93.27],
    ['Kansas City', 'US', 39.1, -94.58],
    ['St. Louis', 'US', 38.63, -90.2],
  ],
  'us-west': [
    ['Los Angeles', 'US', 34.05, -118.24],
    ['San Francisco', 'US', 37.77, -122.42],
    ['San Jose', 'US', 37.34, -121.89],
    ['Seattle', 'US', 47.61, -122.33],
    ['Portland', 'US', 45.52, -122.68],
    ['Denver', 'US', 39.74, -104.99],
    ['Phoenix', 'US', 33.45, -112.07],
    ['Las Vegas', 'US', 36.17, -115.14],
    ['Salt Lake City', 'US', 40.76, -111.89],
    ['San Diego', 'US', 32.72, -117.16],
    ['Honolulu', 'US', 21.31, -157.86],
  ],
  ca: [
    ['Toronto', 'CA', 43.65, -79.38],
    ['Montreal', 'CA', 45.5, -73.57],
    ['Vancouver', 'CA', 49.28, -123.12],
    ['Calgary', 'CA', 51.05, -114.07],
    ['Ottawa', 'CA', 45.42, -75.7],
    ['Quebec City', 'CA', 46.81, -71.21],
    ['Winnipeg', 'CA', 49.9, -97.14],
    ['Halifax', 'CA', 44.65, -63.58],
  ],
  sa: [
    ['São Paulo', 'BR', -23.55, -46.63],
    ['Rio de Janeiro', 'BR', -22.91, -43.17],
    ['Buenos Aires', 'AR', -34.6, -58.38],
    ['Santiago', 'CL', -33.45, -70.67],
    ['Lima', 'PE', -12.05, -77.04],
    ['Bogotá', 'CO', 4.71, -74.07],
    ['Mexico City', 'MX', 19.43, -99.13],
    ['Querétaro', 'MX', 20.59, -100.39],
    ['Fortaleza', 'BR', -3.73, -38.53],
    ['Montevideo', 'UY', -34.9, -56.16],
    ['Panama City', 'PA', 8.98, -79.52],
    ['Quito', 'EC', -0.18, -78.47],
  ],
  'eu-west': [
    ['London', 'GB', 51.51, -0.13],
    ['Dublin', 'IE', 53.35, -6.26],
    ['Paris', 'FR', 48.86, 2.35],
    ['Amsterdam', 'NL', 52.37, 4.9],
    ['Brussels', 'BE', 50.85, 4.35],
    ['Madrid', 'ES', 40.42, -3.7],
    ['Barcelona', 'ES', 41.39, 2.17],
    ['Lisbon', 'PT', 38.72, -9.14],
    ['Manchester', 'GB', 53.48, -2.24],
    ['Marseille', 'FR', 43.3, 5.37],
    ['Edinburgh', 'GB', 55.95, -3.19],
  ],
  'eu-central': [
    ['Frankfurt', 'DE', 50.11, 8.68],
    ['Berlin', 'DE', 52.52, 13.4],
    ['Munich', 'DE', 48.14, 11.58],
    ['Zurich', 'CH', 47.37, 8.54],
    ['Vienna', 'AT', 48.21, 16.37],
    ['Milan', 'IT', 45.46, 9.19],
    ['Rome', 'IT', 41.9, 12.5],
    ['Warsaw', 'PL', 52.23, 21.01],
    ['Prague', 'CZ', 50.08, 14.44],
    ['Budapest', 'HU', 47.5, 19.04],
    ['Bucharest', 'RO', 44.43, 26.1],
    ['Athens', 'GR', 37.98, 23.73],
    ['Sofia', 'BG', 42.7, 23.32],
    ['Geneva', 'CH', 46.2, 6.14],
    ['Hamburg', 'DE', 53.55, 9.99],
  ],
  'eu-north': [
    ['Stockholm', 'SE', 59.33, 18.07],
    ['Oslo', 'NO', 59.91, 10.75],
    ['Copenhagen', 'DK', 55.68, 12.57],
    ['Helsinki', 'FI', 60.17, 24.94],
    ['Tallinn', 'EE', 59.44, 24.75],
    ['Riga', 'LV', 56.95, 24.11],
    ['Vilnius', 'LT', 54.69, 25.28],
    ['Reykjavik', 'IS', 64.15, -21.94],
  ],
  me: [
    ['Dubai', 'AE', 25.2, 55.27],
    ['Abu Dhabi', 'AE', 24.45, 54.38],
    ['Doha', 'QA', 25.29, 51.53],
    ['Riyadh', 'SA', 24.71, 46.68],
    ['Jeddah', 'SA', 21.49, 39.19],
    ['Tel Aviv', 'IL', 32.09, 34.78],
    ['Manama', 'BH', 26.23, 50.59],
    ['Istanbul', 'TR', 41.01, 28.98],
    ['Kuwait City', 'KW', 29.38, 47.99],
    ['Muscat', 'OM', 23.59, 58.41],
  ],
  af: [
    ['Johannesburg', 'ZA', -26.2, 28.05],
    ['Cape Town', 'ZA', -33.92, 18.42],
    ['Lagos', 'NG', 6.52, 3.38],
    ['Nairobi', 'KE', -1.29, 36.82],
    ['Cairo', 'EG', 30.04, 31.24],
    ['Casablanca', 'MA', 33.57, -7.59],
    ['Accra', 'GH', 5.6, -0.19],
    ['Addis Ababa', 'ET', 9.03, 38.74],
    ['Dakar', 'SN', 14.72, -17.47],
    ['Kigali', 'RW', -1.94, 30.06],
  ],
  'ap-south': [
    ['Mumbai', 'IN', 19.08, 72.88],
    ['Delhi', 'IN', 28.61, 77.21],
    ['Bangalore', 'IN', 12.97, 77.59],
    ['Chennai', 'IN', 13.08, 80.27],
    ['Hyderabad', 'IN', 17.39, 78.49],
    ['Kolkata', 'IN', 22.57, 88.36],
    ['Karachi', 'PK', 24.86, 67.01],
    ['Dhaka', 'BD', 23.81, 90.41],
    ['Colombo', 'LK', 6.93, 79.86],
    ['Pune', 'IN', 18.52, 73.86],
  ],
  'ap-southeast': [
    ['Singapore', 'SG', 1.35, 103.82],
    ['Jakarta', 'ID', -6.21, 106.85],
    ['Kuala Lumpur', 'MY', 3.14, 101.69],
    ['Bangkok', 'TH', 13.76, 100.5],
    ['Manila', 'PH', 14.6, 120.98],
    ['Ho Chi Minh City', 'VN', 10.82, 106.63],
    ['Hanoi', 'VN', 21.03, 105.85],
  ],
  'ap-northeast': [
    ['Tokyo', 'JP', 35.68, 139.69],
    ['Osaka', 'JP', 34.69, 135.5],
    ['Seoul', 'KR', 37.57, 126.98],
    ['Busan', 'KR', 35.18, 129.08],
    ['Hong Kong', 'HK', 22.32, 114.17],
    ['Taipei', 'TW', 25.03, 121.57],
    ['Shanghai', 'CN', 31.23, 121.47],
    ['Beijing', 'CN', 39.9, 116.41],
    ['Shenzhen', 'CN', 22.54, 114.06],
    ['Sapporo', 'JP', 43.06, 141.35],
    ['Fukuoka', 'JP', 33.59, 130.4],
  ],
  oc: [
    ['Sydney', 'AU', -33.87, 151.21],
    ['Melbourne', 'AU', -37.81, 144.96],
    ['Brisbane', 'AU', -27.47, 153.03],
    ['Perth', 'AU', -31.95, 115.86],
    ['Auckland', 'NZ', -36.85, 174.76],
    ['Adelaide', 'AU', -34.93, 138.6],
    ['Wellington', 'NZ', -41.29, 174.78],
    ['Canberra', 'AU', -35.28, 149.13],
  ],
};

/** Every city, region by region in REGIONS order, each region in table order. */
export const CITIES: readonly City[] = Object.freeze(
  REGIONS.flatMap((region) => TABLE[region].map(([name, country, lat, lon]) => Object.freeze({ name, country, region, lat, lon }))),
);

/** "São Paulo" → "sao-paulo", "St. Louis" → "st-louis". */
export function citySlug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function findCity(nameOrSlug: string): City | undefined {
  const slug = citySlug(nameOrSlug);
  return CITIES.find((c) => citySlug(c.name) === slug);
}

export function isRegion(text: string): text is Region {
  return (REGIONS as readonly string[]).includes(text);
}

/**
 * `count` sites spread over the world without randomness: one city from each region in turn
 * (round robin over REGIONS, each region in table order), so 5 sites land in 5 regions and 13 in
 * all 13. Past the table's size, further rounds add a second (third…) site in each city, named
 * "<slug>-2", at the same place.
 */
export function selectSites(count: number): SiteLocation[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`site count must be a positive integer, got ${count}`);
  const order = roundRobinCities();
  const sites: SiteLocation[] = [];
  for (let i = 0; i < count; i++) {
    const city = order[i % order.length];
    const copy = Math.floor(i / order.length) + 1;
    const slug = citySlug(city.name);
    sites.push({
      name: copy === 1 ? slug : `${slug}-${copy}`,
      city: city.name,
      country: city.country,
      region: city.region,
      lat: city.lat,
      lon: city.lon,
    });
  }
  return sites;
}

/** Sites at named cities (names or slugs), in the given order; unknown names are an error naming them. */
export function sitesAt(cityNames: readonly string[]): SiteLocation[] {
  const unknown = cityNames.filter((n) => findCity(n) === undefined);
  if (unknown.length > 0) throw new Error(`unknown cit${unknown.length === 1 ? 'y' : 'ies'}: ${unknown.join(', ')}`);
  const seen = new Map<string, number>();
  return cityNames.map((n) => {
    const city = findCity(n)!;
    const slug = citySlug(city.name);
    const copy = (seen.get(slug) ?? 0) + 1;
    seen.set(slug, copy);
    return { name: copy === 1 ? slug : `${slug}-${copy}`, city: city.name, country: city.country, region: city.region, lat: city.lat, lon: city.lon };
  });
}

function roundRobinCities(): City[] {
  const queues = REGIONS.map((r) => CITIES.filter((c) => c.region === r));
  const out: City[] = [];
  for (let round = 0; out.length < CITIES.length; round++) {
    for (const q of queues) if (round < q.length) out.push(q[round]);
  }
  return out;
}
