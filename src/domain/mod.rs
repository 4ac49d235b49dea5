//! Pure rules of the hub: no actix, no diesel. Value types are parsed once at the edge
//! ("parse, don't validate") and carried through the use cases as these types.

/// Declares a closed vocabulary of wire names as an enum with `ALL`, `as_str`, `Display`,
/// `FromStr` (whose error names the accepted values) and serde as those names. Variants are
/// ordered as declared (`Classification::Official < Classification::OfficialSensitive`).
macro_rules! str_enum {
    ($(#[$doc:meta])* $vis:vis enum $name:ident ($what:literal) {
        $($(#[$vdoc:meta])* $variant:ident = $s:literal),+ $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            /// The wire names, comma separated (for error messages).
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let shown: String = s.chars().take(60).collect();
                    format!("unknown {} `{shown}`; expected one of: {}", $what, Self::names())
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub mod agency;
pub mod agreement;
pub mod audit;
pub mod audit_query;
pub mod console_session;
pub mod delivery;
pub mod disclosure;
pub mod fields;
pub mod ictg;
pub mod ids;
pub mod incident;
pub mod learning;
pub mod limits;
pub mod msht;
pub mod notification;
pub mod outcome;
pub mod partnership;
pub mod policy;
pub mod precondition;
pub mod projection;
pub mod records;
pub mod referral;
pub mod referral_lifecycle;
pub mod report;
pub mod role;
pub mod routing;
pub mod sharing;
pub mod subscription;
pub mod support;
pub mod validate;
pub mod webhook_url;
pub mod working_days;
