import { seededRandom } from '../../util/random.js';

/**
 * The demo shop's data set: 10,000 products from a seeded generator, so every
 * worker (and every test run) sees the same catalogue without shipping data.
 */
export interface Product {
  id: string;
  name: string;
  category: string;
  price: number;
  description: string;
  /** Stock before any update_inventory call. */
  baseStock: number;
}

export const PRODUCT_COUNT = 10_000;
const SEED = 0x5eed_cafe;

const ADJECTIVES = [
  'Compact',
  'Rugged',
  'Silent',
  'Smart',
  'Classic',
  'Ultra',
  'Eco',
  'Pro',
  'Mini',
  'Deluxe',
];
const NOUNS = [
  'Kettle',
  'Backpack',
  'Lamp',
  'Headphones',
  'Chair',
  'Bottle',
  'Keyboard',
  'Tent',
  'Blender',
  'Watch',
];
const CATEGORIES = ['kitchen', 'outdoor', 'office', 'audio', 'home', 'sports', 'electronics', 'garden'];
const COLOURS = ['black', 'white', 'red', 'blue', 'green', 'grey', 'orange', 'teal'];

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

export function productId(index: number): string {
  return `p${String(index + 1).padStart(5, '0')}`;
}

function generate(): Product[] {
  const random = seededRandom(SEED);
  const products: Product[] = [];
  for (let i = 0; i < PRODUCT_COUNT; i++) {
    const name = `${pick(ADJECTIVES, random)} ${pick(COLOURS, random)} ${pick(NOUNS, random)}`;
    const category = pick(CATEGORIES, random);
    products.push({
      id: productId(i),
      name,
      category,
      price: Math.round((5 + random() * 495) * 100) / 100,
      description: `A ${name.toLowerCase()} for ${category} use.`,
      baseStock: Math.floor(random() * 500),
    });
  }
  return products;
}

export class Catalog {
  private readonly products = generate();
  private readonly byId = new Map(this.products.map((p) => [p.id, p]));

  get(id: string): Product | undefined {
    return this.byId.get(id);
  }

  /** Case-insensitive match on name, category or description; stable order. */
  search(query: string, limit: number): Product[] {
    const needle = query.trim().toLowerCase();
    const results: Product[] = [];
    for (const product of this.products) {
      if (
        needle === '' ||
        product.name.toLowerCase().includes(needle) ||
        product.category.includes(needle) ||
        product.description.includes(needle)
      ) {
        results.push(product);
        if (results.length >= limit) break;
      }
    }
    return results;
  }

  get size(): number {
    return this.products.length;
  }
}

let shared: Catalog | undefined;
/** One catalogue per process: the factory runs per session/request and must stay cheap. */
export function catalog(): Catalog {
  shared ??= new Catalog();
  return shared;
}
